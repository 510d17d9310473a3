"""A progress bar for operator commands (stderr, hidden when not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "shard") -> Iterator[Any]:
    with tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=None,  # off when stderr is not a terminal
        dynamic_ncols=True,
    ) as bar:
        yield bar
