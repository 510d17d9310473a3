"""Relay-style connections over time-sorted IDs.

A cursor is the opaque form of the last item's sort key (an ID, or a
position). Pages are "older than the cursor", so items added while a client
pages never shift what it has not seen yet: no repeats, no skips.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from backend.errors import InvalidInput
from backend.shards.ids import MAX_ID

MAX_PAGE_SIZE = 100
# encode_cursor of the largest key is 28 characters.
MAX_CURSOR_LENGTH = 64

T = TypeVar("T")
N = TypeVar("N")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"c:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The sort key in a cursor from encode_cursor; BAD_USER_INPUT for anything
    else (so a forged key, negative or past a bigint, never reaches a store)."""
    if cursor is None:
        return None
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "c" or not (value.isascii() and value.isdigit()):
            raise ValueError(text)
        key = int(value)
        if key > MAX_ID:
            raise ValueError(text)
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("after is not a valid cursor") from None


def check_first(first: int) -> int:
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 0 and {MAX_PAGE_SIZE}")
    return first


def build_connection(
    items: Sequence[N],
    *,
    first: int,
    key: Callable[[N], int],
    node: Callable[[N], T],
) -> Connection[T]:
    """A page from `items` fetched with limit first + 1 (the extra one tells hasNextPage)."""
    page = list(items[:first])
    edges = [Edge(cursor=encode_cursor(key(item)), node=node(item)) for item in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(items) > first,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
