"""The search form of usernames and names, and the terms a user is found by.

Matching is on prefixes of the search form: case-folded, accents dropped
("José" is found by "jose"), whitespace collapsed. A full name is found from
its start and from the start of each later word ("tolk" finds "J. R. R.
Tolkien"), so each later word onwards is a term of its own.
"""

from __future__ import annotations

import re
import unicodedata

from backend.accounts.models import SearchTerm

TERM_MAX = SearchTerm._meta.get_field("term").max_length or 64
# Later words of a name indexed on their own: enough for any real name, and
# a bound on the rows one profile edit writes.
MAX_NAME_WORDS = 5
_SPACE = re.compile(r"\s+")
_WORD_START = re.compile(r"(?<=[\s\-])(?=\w)")


def search_form(text: str) -> str:
    """`text` as terms are stored and queries are matched."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", stripped.casefold()).strip()[:TERM_MAX]


def name_terms(full_name: str) -> list[tuple[int, str]]:
    """(kind, term) rows for a full name: the whole, then each later word onwards."""
    name = search_form(full_name)
    if not name:
        return []
    terms = [(SearchTerm.FULL_NAME, name)]
    starts = [m.start() for m in _WORD_START.finditer(name)][:MAX_NAME_WORDS]
    terms += [(SearchTerm.NAME_WORD, name[i:]) for i in starts]
    return list(dict.fromkeys(terms))


def prefix_range(prefix: str) -> tuple[str, str]:
    """[low, high): every string starting with `prefix`, in bytewise ("C")
    order, which is code point order for UTF-8."""
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: skip them
        following = 0xE000
    if following > 0x10FFFF:
        return prefix, prefix + "\U0010ffff"
    return prefix, prefix[:-1] + chr(following)
