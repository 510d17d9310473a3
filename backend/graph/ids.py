"""Parsing the opaque ID strings clients send."""

from __future__ import annotations

from backend.errors import InvalidInput
from backend.shards import topology
from backend.shards.ids import MAX_ID, shard_of

MAX_ID_DIGITS = len(str(MAX_ID))


async def parse_id(value: str, *, what: str = "id") -> int:
    """The ID a client sent, or BAD_USER_INPUT for one we can never have issued:
    not a decimal number, outside 1..MAX_ID, or naming a logical shard that is
    not in the shard map (routing it would fail; no row can live there).

    The map is the process's copy (re-read at most every MAP_CHECK_SECONDS, as
    for every routed read), so this costs no I/O on the request path.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
        raise InvalidInput(f"{what} is not a valid ID")
    parsed = int(text)
    if not 0 < parsed <= MAX_ID:
        raise InvalidInput(f"{what} is not a valid ID")
    shard_map = await topology.aget_map()
    if shard_of(parsed) >= shard_map.logical_count:
        raise InvalidInput(f"{what} is not a valid ID")
    return parsed
