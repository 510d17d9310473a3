"""Relay-style connections over time-sorted IDs.

A cursor is the opaque form of the last item's sort key (an ID, or a
position). Pages are "older than the cursor", so items added while a client
pages never shift what it has not seen yet: no repeats, no skips.

One rule for every list, empty pages included (PAGE_RULE, also in the schema's
descriptions): `endCursor` is where the next page starts, so passing it as
`after` always moves on or stays put, never skips. It is the last edge's
cursor; on a page with no edges (`first: 0`, or nothing left) it is the
`after` the page was asked with (null on the first page), and the feed alone
may move it past entries it skipped as hidden. `hasNextPage` says whether
items exist past `endCursor`. `startCursor` is the first edge's cursor (on an
empty page, the same as `endCursor`). The lists page forward only;
`hasPreviousPage` is true when the page was asked with `after`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

import strawberry

from backend.errors import InvalidInput
from backend.shards.ids import MAX_ID

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# encode_cursor of the largest key is 28 characters.
MAX_CURSOR_LENGTH = 64

T = TypeVar("T")
N = TypeVar("N")

FIRST_DESCRIPTION = (
    f"How many items to return, 0 to {MAX_PAGE_SIZE} (null: {DEFAULT_PAGE_SIZE}). "
    "`first: 0` returns no edges and tells through pageInfo whether any items follow."
)
AFTER_DESCRIPTION = "Return the items after this cursor (a previous page's `endCursor`)."
# The type of every connection's `first` and `after` arguments.
First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]


@strawberry.type(
    description="Where a page of a list stands. endCursor is where the next page starts: "
    "the last edge's cursor, or, on a page with no edges, the `after` it was asked with "
    "(null on the first page). Passing it as `after` never skips an item."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Items exist after endCursor: ask for them with `after: endCursor`."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor to pass as `after` for the next page; null only on a first "
        "page with no edges."
    )
    has_previous_page: bool = strawberry.field(
        default=False,
        description="This page was asked for with `after` (lists page forward only: there "
        "is no `last`/`before`).",
    )
    start_cursor: str | None = strawberry.field(
        default=None,
        description="The first edge's cursor; on a page with no edges, the same as endCursor.",
    )


@strawberry.type(description="One item of a list and its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` to get the items after this one.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (a Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's items, in the list's order.")
    page_info: PageInfo = strawberry.field(description="Where the page stands in the list.")


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


def check_first(first: int | None) -> int:
    """The page size asked for: `first`, or the default when null."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 0 and {MAX_PAGE_SIZE}")
    return first


def page_info(
    edges: Sequence[Edge[T]], *, after: str | None, has_next: bool, end: str | None = None
) -> PageInfo:
    """The page rule: endCursor is the last edge's cursor, or `end` (the feed's
    position past skipped entries), or the `after` the page was asked with."""
    end_cursor = edges[-1].cursor if edges else (end if end is not None else after)
    return PageInfo(
        has_next_page=has_next,
        end_cursor=end_cursor,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else end_cursor,
    )


def build_connection(
    items: Sequence[N],
    *,
    first: int,
    after: str | None,
    key: Callable[[N], int],
    node: Callable[[N], T],
) -> Connection[T]:
    """A page from `items` fetched with limit first + 1 (the extra one tells hasNextPage)."""
    page = list(items[:first])
    edges = [Edge(cursor=encode_cursor(key(item)), node=node(item)) for item in page]
    return Connection(
        edges=edges, page_info=page_info(edges, after=after, has_next=len(items) > first)
    )
