"""The import contracts in pyproject.toml hold (import-linter), and the tool
does see a broken one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# Known today (issue 14): photos still imports social. The check must say so.
BROKEN = """
[importlinter]
root_package = backend

[importlinter:contract:photos-below-social]
name = photos imports nothing from social
type = forbidden
source_modules = backend.photos
forbidden_modules = backend.social
"""


def _lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    done = _lint()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_a_broken_contract_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "broken.ini"
    config.write_text(BROKEN)
    done = _lint("--config", str(config))
    assert done.returncode == 1
    assert "BROKEN" in done.stdout
    assert "backend.photos" in done.stdout and "backend.social" in done.stdout
