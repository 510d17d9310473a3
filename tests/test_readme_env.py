"""The README's configuration table lists every variable of backend/settings/env.py."""

from __future__ import annotations

import re
from pathlib import Path

from backend.settings.env import VARIABLES

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_variable_is_in_the_readme_table() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    named = {
        name
        for row in rows
        for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", row.split("|")[1])
    }
    missing = sorted(set(VARIABLES) - named)
    assert not missing, f"not in the README's table: {missing}"
