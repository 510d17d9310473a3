"""Sustained uploads per second of 12-megapixel phone JPEGs through the full path.

Each upload is a GraphQL multipart request to gunicorn: parse, check,
orient, render three sizes, store them in S3 (the stack's S3 server), write
the row, the photo map and the feed. Photos are 4032x3024 camera-style JPEGs
with EXIF orientation and GPS (tests/imagegen.py), several different ones.

Baseline, same run: the image step alone (`check_and_process`) in this
process on 2 threads, i.e. the most this box could do if storage, HTTP and
the database were free.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/uploads.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import app_url, emit, log, make_users, setup_django

setup_django()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from backend.photos.images import check_and_process  # noqa: E402
from tests import imagegen  # noqa: E402

TARGET = 25
UPLOAD = "mutation($file: Upload!) { uploadPhoto(file: $file) { id width height } }"


async def upload_all(photos: list[bytes], tokens: list[str], n: int, concurrency: int) -> float:
    operations = json.dumps({"query": UPLOAD, "variables": {"file": None}})
    mapping = json.dumps({"0": ["variables.file"]})
    counter = iter(range(n))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            response = await client.post(
                "/graphql",
                data={"operations": operations, "map": mapping},
                files={"0": ("IMG.jpg", photos[i % len(photos)], "image/jpeg")},
                headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
            )
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"upload failed: {response.status_code} {body}")
            assert body["data"]["uploadPhoto"]["height"] == 1080

    async with httpx.AsyncClient(base_url=app_url(), timeout=120) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


def processing_only(photos: list[bytes], n: int) -> float:
    with ThreadPoolExecutor(2) as pool:
        started = time.perf_counter()
        list(pool.map(check_and_process, (photos[i % len(photos)] for i in range(n))))
        return n / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    log("uploads: making phone JPEGs and users")
    photos = [imagegen.phone_jpeg(4032, 3024, orientation=6, seed=s) for s in range(4)]
    tokens = [token for _, token in await make_users(8, "uploader")]
    await upload_all(photos, tokens, 8, 4)  # warm up every gunicorn worker
    log(f"uploads: {args.uploads} uploads, {args.concurrency} at a time")
    rate = await upload_all(photos, tokens, args.uploads, args.concurrency)
    log("uploads: baseline (image step only, 2 threads)")
    base = processing_only(photos, min(args.uploads, 40))
    emit(
        {
            "benchmark": "uploads",
            "uploads": args.uploads,
            "concurrency": args.concurrency,
            "photo_bytes": [len(p) for p in photos],
            "uploads_per_second": round(rate, 2),
            "target_uploads_per_second": TARGET,
            "meets_target": rate >= TARGET,
            "baseline_image_step_only_per_second": round(base, 2),
            "ratio_to_image_step_only": round(rate / base, 3),
        }
    )


if __name__ == "__main__":
    from backend import runtime

    runtime.run(main())
