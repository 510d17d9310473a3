"""Query expressions for sharded models."""

from __future__ import annotations

from django.db import models


class NextId(models.Func):
    """`DEFAULT next_id()`: bound to the schema the table is created in."""

    function = "next_id"
    template = "%(function)s()"
    output_field = models.BigIntegerField()

    def __init__(self) -> None:
        super().__init__()
