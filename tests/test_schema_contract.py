"""The schema describes itself, passes graphql-schema-linter (Relay rules
included), and the HTTP envelope answers in GraphQL JSON on the real server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
from graphql import GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType

from backend.graph.schema import schema

ROOT = Path(__file__).resolve().parent.parent
LINTER = ROOT / "tools" / "schema-lint"
LINTER_BIN = LINTER / "node_modules" / ".bin" / "graphql-schema-linter"


def _undescribed() -> list[str]:
    missing = []
    for name, type_ in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, value in field.args.items()
                    if not value.description
                ]
        if isinstance(type_, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in type_.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    assert _undescribed() == []


def test_deprecated_mutations_point_at_their_replacements() -> None:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    reasons = {
        name: field.deprecation_reason
        for name, field in mutation.fields.items()
        if field.deprecation_reason
    }
    assert set(reasons) == {"deleteComment", "deletePhoto"}
    assert "removeComment" in str(reasons["deleteComment"])
    assert "removePhoto" in str(reasons["deletePhoto"])


def test_the_schema_linter_passes_and_would_catch_a_missing_description(tmp_path: Path) -> None:
    assert LINTER_BIN.exists(), "make test and make lint install it (scripts/lib.sh)"

    def lint(text: str) -> subprocess.CompletedProcess[str]:
        assert shutil.which("node"), "node is needed for the schema linter"
        return subprocess.run(
            [str(LINTER_BIN), "--format", "compact", "--stdin"],
            input=text,
            cwd=LINTER,
            capture_output=True,
            text=True,
            timeout=60,
        )

    printed = schema.as_str()
    ok = lint(printed)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = printed.replace('"""Where the page stands in the list."""', "", 1)
    assert broken != printed
    refused = lint(broken)
    assert refused.returncode != 0 and "fields-have-descriptions" in refused.stdout


async def test_batches_and_get_mutations_get_graphql_json_from_gunicorn(
    live: httpx.AsyncClient,
) -> None:
    batch = await live.post("/graphql", json=[{"query": "{ viewer { id } }"}])
    assert batch.status_code == 400
    assert batch.headers["content-type"].startswith("application/json")
    assert batch.json()["data"] is None
    assert batch.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "one GraphQL request per HTTP request" in batch.json()["errors"][0]["message"]

    mutation = await live.get("/graphql", params={"query": "mutation { logOut }"})
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
    assert mutation.headers["content-type"].startswith("application/json")
    assert mutation.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    query = await live.get("/graphql", params={"query": "{ viewer { id } }"})
    assert query.status_code == 200 and query.json()["data"] == {"viewer": None}
