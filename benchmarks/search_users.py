"""searchUsers latency on a directory of a million accounts, as someone types.

Setup (not timed; skipped when the accounts are already there): ACCOUNTS
accounts with generated usernames and full names, loaded with COPY into the
directory (accounts and their search terms, as sign-up and the profile-name
consumer write them) and the shards (profiles). Then for SAMPLES accounts,
every prefix a person types on the way to their username (1 to 8
characters) and to their last name (1 to 6) is searched:

- `selector`: search_user_ids in this process (the directory statement and
  the ranking), one query at a time;
- `http`: `searchUsers(query:, first: 10) { edges { node { id username
  fullName } } }` through gunicorn from one keep-alive client, one request at
  a time: `cold` (the users found are read for the first time: Memcached
  misses, then the directory and the shards), `warm` (the same queries again),
  next to `baseline`, `{ __typename }` over the same connection.

Latency percentiles in ms, overall and by prefix length, plus the plan of
the widest query (a one-letter prefix).

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/search_users.py
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import time
from typing import Any

import psycopg
from common import app_url, emit, log, setup_django

setup_django()

from backend import runtime  # noqa: E402
from backend.accounts.models import ACCOUNT, PROFILE, SEARCH_TERM, SearchTerm  # noqa: E402
from backend.accounts.search import name_terms, search_form  # noqa: E402
from backend.accounts.selectors import search_user_ids  # noqa: E402
from backend.shards import db, topology  # noqa: E402
from backend.shards.ids import encode_id, schema_name  # noqa: E402

MARK = "sb"  # every benchmark username starts with it... after the name part
SYLLABLES = [
    "an", "ar", "be", "bo", "ca", "da", "de", "el", "en", "fa", "ga", "ha", "in", "ja", "ka",
    "ki", "la", "le", "li", "lo", "ma", "me", "mi", "na", "ne", "no", "ol", "pa", "ra", "re",
    "ri", "ro", "sa", "se", "si", "so", "ta", "te", "ti", "to", "va", "vi", "ya", "za", "zo",
]  # fmt: skip


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts))


def _people(n: int, seed: int = 15) -> list[tuple[str, str]]:
    """n (username, full name) pairs: 400 first names, 5000 last names, handles
    made of them in the ways people make handles, unique by a base-36 suffix."""
    rng = random.Random(seed)
    firsts = sorted({_word(rng, rng.choice((2, 3))).capitalize() for _ in range(600)})[:400]
    lasts = sorted({_word(rng, rng.choice((2, 3, 4))).capitalize() for _ in range(8000)})[:5000]
    out = []
    for i in range(n):
        first, last = rng.choice(firsts), rng.choice(lasts)
        style = rng.randrange(4)
        handle = (
            f"{first}{last}",
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{last}_{first}",
        )[style].lower()[:22]
        full = f"{first} {last}" if rng.random() < 0.85 else ""
        out.append((f"{handle}{MARK}{_b36(i)}", full))
    return out


def _b36(i: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        i, r = divmod(i, 36)
        out = digits[r] + out
        if i == 0:
            return out


def _ids(n: int, logical: int) -> list[int]:
    """IDs from the first milliseconds of the epoch: never minted by next_id now."""
    per_ms = logical * 1024
    return [
        encode_id(ms=1 + i // per_ms, shard=i % logical, sequence=(i // logical) % 1024)
        for i in range(n)
    ]


def _tsv(rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write("\t".join(str(v) for v in row))
        out.write("\n")
    return out.getvalue().encode()


async def _copy(server: str, sql: str, rows: list[tuple[Any, ...]], chunk: int = 50_000) -> None:
    async with db.aconnection(server) as conn, conn.transaction():
        cur = conn.cursor()
        async with cur.copy(sql) as copy:
            for start in range(0, len(rows), chunk):
                await copy.write(_tsv(rows[start : start + chunk]))


async def load(n: int) -> dict[str, Any]:
    """The accounts, profiles and search terms, unless already loaded."""
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT count(*) AS n FROM "{ACCOUNT}" WHERE username LIKE %s',
        [f"%{MARK}%"],
    )
    have = int(rows[0]["n"])
    if have >= n:
        log(f"{have} benchmark accounts already loaded")
        return {"loaded": False, "accounts": have}
    if have:
        raise SystemExit(f"{have} of {n} benchmark accounts loaded: start from a fresh stack")
    started = time.perf_counter()
    shard_map = await topology.aget_map()
    people = _people(n)
    ids = _ids(n, shard_map.logical_count)
    log(f"loading {n} accounts into the directory")
    await _copy(
        db.DIRECTORY,
        f'COPY "{ACCOUNT}" (id, username, email, password, created_at) FROM STDIN',
        [
            (i, name, "", "!", "2024-01-01 00:00:00+00")
            for i, (name, _) in zip(ids, people, strict=True)
        ],
    )
    terms: list[tuple[Any, ...]] = []
    for user_id, (username, full) in zip(ids, people, strict=True):
        terms.append((user_id, SearchTerm.USERNAME, search_form(username)))
        terms += [(user_id, kind, term) for kind, term in name_terms(full)]
    log(f"loading {len(terms)} search terms")
    await _copy(db.DIRECTORY, f'COPY "{SEARCH_TERM}" (user_id, kind, term) FROM STDIN', terms)
    # What autovacuum does after a load: the visibility map lets the scans stay index-only.
    async with await psycopg.AsyncConnection.connect(
        db.conninfo(db.DIRECTORY), autocommit=True
    ) as conn:
        await conn.execute(f'VACUUM ANALYZE "{SEARCH_TERM}"')
    await db.aexecute(db.DIRECTORY, f'ANALYZE "{ACCOUNT}"')
    log("loading profiles on the shards")
    by_shard: dict[int, list[tuple[Any, ...]]] = {}
    for index, (user_id, (_, full)) in enumerate(zip(ids, people, strict=True)):
        by_shard.setdefault(index % shard_map.logical_count, []).append((user_id, full, "", "f"))

    async def profiles(logical: int, rows: list[tuple[Any, ...]]) -> None:
        await _copy(
            shard_map.server_of(logical),
            f'COPY {schema_name(logical)}."{PROFILE}" (user_id, full_name, bio, is_private) '
            "FROM STDIN",
            rows,
        )

    for start in range(0, len(by_shard), 16):
        batch = list(by_shard)[start : start + 16]
        await asyncio.gather(*(profiles(s, by_shard[s]) for s in batch))
    return {
        "loaded": True,
        "accounts": n,
        "terms": len(terms),
        "load_seconds": round(time.perf_counter() - started, 1),
    }


def _typed(username: str, full: str) -> list[str]:
    """What someone types on the way to this account: prefixes of the handle
    (without its benchmark suffix) and of the last name."""
    handle = username.split(MARK)[0]
    out = [handle[:k] for k in range(1, min(8, len(handle)) + 1)]
    if full:
        last = full.split()[-1]
        out += [last[:k] for k in range(1, min(6, len(last)) + 1)]
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


async def measure(n: int, samples: int) -> dict[str, Any]:
    import httpx

    rng = random.Random(7)
    people = _people(n)
    queries = [q for person in rng.sample(people, samples) for q in _typed(*person)]
    # Warm the directory's cache as a live server's would be.
    for q in queries[:200]:
        await search_user_ids(query=q, offset=0, limit=11)

    selector: list[float] = []
    by_length: dict[int, list[float]] = {}
    empty = 0
    for q in queries:
        started = time.perf_counter()
        found = await search_user_ids(query=q, offset=0, limit=11)
        took = (time.perf_counter() - started) * 1000
        selector.append(took)
        by_length.setdefault(min(len(q), 6), []).append(took)
        empty += not found

    document = (
        "query($q: String!) { searchUsers(query: $q, first: 10) "
        "{ edges { node { id username fullName } } } }"
    )
    http: dict[str, list[float]] = {"baseline": [], "cold": [], "warm": []}
    async with httpx.AsyncClient(base_url=app_url(), timeout=30) as client:

        async def post(body: dict[str, Any], into: list[float]) -> None:
            started = time.perf_counter()
            response = await client.post("/graphql", json=body)
            into.append((time.perf_counter() - started) * 1000)
            answer = response.json()
            if response.status_code != 200 or answer.get("errors"):
                raise RuntimeError(f"{body} failed: {response.status_code} {answer}")

        for _ in range(50):  # warm-up: connections, workers
            await post({"query": "{ __typename }"}, [])
        for _ in range(500):  # the HTTP + GraphQL round trip alone
            await post({"query": "{ __typename }"}, http["baseline"])
        # Cold: the found users' first reads (Memcached misses, then the shards);
        # warm: the same queries again, users from Memcached.
        for phase in ("cold", "warm"):
            for q in queries:
                await post({"query": document, "variables": {"q": q}}, http[phase])

    plan = await db.aexecute(
        db.DIRECTORY,
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
        f'SELECT user_id FROM "{SEARCH_TERM}" WHERE kind = 0 AND term >= %s AND term < %s '
        "ORDER BY term LIMIT 200",
        ["m", "n"],
    )
    top = plan[0]["QUERY PLAN"][0]
    return {
        "queries": len(queries),
        "queries_with_no_match": empty,
        "selector_ms": _stats(selector),
        "selector_ms_by_prefix_length": {
            str(k) if k < 6 else "6+": _stats(v) for k, v in sorted(by_length.items())
        },
        "http_ms": {phase: _stats(ms) for phase, ms in http.items()},
        "one_letter_scan": {
            "plan": top["Plan"]["Plans"][0]["Node Type"] if top["Plan"].get("Plans") else None,
            "execution_ms": top["Execution Time"],
        },
    }


async def main(n: int, samples: int) -> None:
    async with runtime.running():
        loaded = await load(n)
        result = await measure(n, samples)
    emit({"benchmark": "search_users", "accounts": n, "setup": loaded, **result})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200, help="accounts typed towards")
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.samples))
