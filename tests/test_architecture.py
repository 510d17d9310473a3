"""The import contracts in pyproject.toml hold (import-linter), and the tool
does see a back-arrow: a copy of the package with one upward import added
breaks the layer contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), *args],
        cwd=root,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings.test",
            "PYTHONPATH": str(root),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    done = _lint()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "imports"),
    [
        ("backend/photos/_back.py", "backend.social.models"),
        ("backend/accounts/_back.py", "backend.photos.selectors"),
        ("backend/shards/_back.py", "backend.accounts.models"),
        ("backend/social/_back.py", "backend.feeds.services"),
        ("backend/feeds/_back.py", "backend.notifications.services"),
    ],
)
def test_a_back_arrow_breaks_the_layers(tmp_path: Path, module: str, imports: str) -> None:
    shutil.copytree(
        ROOT / "backend", tmp_path / "backend", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(f"import {imports}  # noqa: F401\n")
    done = _lint(root=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "BROKEN" in done.stdout
    assert imports in done.stdout, done.stdout[-3000:]
