"""Checks of free text from clients, shared by every domain."""

from __future__ import annotations

from backend.errors import InvalidInput


def check_text(value: str | None, *, what: str, max_length: int, required: bool = False) -> str:
    """The text stripped, or InvalidInput: too long, NUL characters (PostgreSQL
    refuses them in text), or empty where `required`."""
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{what} needs some text")
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return value
