"""The trusted documents: every client operation, by its SHA-256."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from graphql import parse, validate

from backend.graph.persisted import OPERATIONS_DIR, TRUSTED_FILE, document_hash
from backend.graph.schema import schema


def collected() -> dict[str, str]:
    """{sha256: text} of every operation file; each must be valid against the schema."""
    documents: dict[str, str] = {}
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text().strip()
        errors = validate(schema._schema, parse(text))
        if errors:
            raise CommandError(f"{path.name}: {errors[0].message}")
        documents[document_hash(text)] = text
    return dict(sorted(documents.items()))


def rendered() -> str:
    return json.dumps(collected(), indent=2) + "\n"


class Command(BaseCommand):
    help = (
        "Hash every client operation (frontend-sample/operations/*.graphql) into "
        "backend/graph/trusted_documents.json; --check fails when that file is stale."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="rewrite the file")
        parser.add_argument("--check", action="store_true", help="fail when it is stale")

    def handle(self, *args: Any, **options: Any) -> None:
        text = rendered()
        if options["write"]:
            TRUSTED_FILE.write_text(text)
            self.stdout.write(f"wrote {len(json.loads(text))} documents to {TRUSTED_FILE}")
        elif options["check"]:
            if not TRUSTED_FILE.exists() or TRUSTED_FILE.read_text() != text:
                raise CommandError("trusted_documents.json is stale: run with --write")
            self.stdout.write("trusted documents are current")
        else:
            self.stdout.write(text, ending="")
