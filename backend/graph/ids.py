"""Parsing the opaque ID strings clients send."""

from __future__ import annotations

from backend.errors import InvalidInput
from backend.shards.ids import MAX_ID


def parse_id(value: str, *, what: str = "id") -> int:
    try:
        parsed = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} is not a valid ID") from None
    if not 0 < parsed <= MAX_ID:
        raise InvalidInput(f"{what} is not a valid ID")
    return parsed
