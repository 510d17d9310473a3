"""Print the public schema (SDL); `--write` updates schema.graphql."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from backend.graph.schema import schema

SCHEMA_FILE = Path(settings.BASE_DIR) / "schema.graphql"


def printed_schema() -> str:
    return schema.as_str().rstrip() + "\n"


class Command(BaseCommand):
    help = "Print the GraphQL schema; with --write, save it to schema.graphql."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="write schema.graphql")

    def handle(self, *args: Any, **options: Any) -> None:
        text = printed_schema()
        if options["write"]:
            SCHEMA_FILE.write_text(text)
            self.stdout.write(f"wrote {SCHEMA_FILE}")
        else:
            self.stdout.write(text, ending="")
