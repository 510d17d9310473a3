"""Browser tests: Playwright driving Debian's Chromium against the stack's gunicorn.

scripts/test.sh builds the client (through stack.sh up) and installs Chromium
with apt-get when it is missing; Playwright never downloads a browser. Every
page is guarded: a console error, an uncaught exception, a failed request, an
HTTP error, a request to anywhere but 127.0.0.1, or a GraphQL document of the
web client that the server does not trust (backend/graph/trusted_documents.json) fails the test.
Screenshots of each screen are kept under .local/<profile>/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    async_playwright,
)

from backend.graph.persisted import document_hash, trusted_documents

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FOUND = Path(CHROMIUM).exists()
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
OPERATIONS_FIELD = re.compile(rb'name="operations"\r\n\r\n(.*?)\r\n--', re.S)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One worker runs every browser test, on one Chromium (scripts/test.sh
    # runs xdist with --dist loadgroup).
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM_FOUND:
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test.sh installs Debian's chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
        )
        yield browser
        await browser.close()


@dataclass
class Guard:
    """What went wrong on a page; the test fails at teardown when not empty."""

    problems: list[str] = field(default_factory=list)
    graphql_operations: list[str] = field(default_factory=list)

    def check_request(self, request: Request) -> None:
        # The web client's documents only (GraphiQL sends whatever one types).
        if urlsplit(request.url).path != "/graphql" or request.method != "POST":
            return
        if not urlsplit(request.frame.url).path.startswith("/app/"):
            return
        body = request.post_data_buffer or b""
        if "multipart/form-data" in (request.headers.get("content-type") or ""):
            match = OPERATIONS_FIELD.search(body)
            payload: Any = json.loads(match.group(1)) if match else {}
        else:
            payload = json.loads(body or b"{}")
        query = payload.get("query") or ""
        name = payload.get("operationName") or "?"
        self.graphql_operations.append(name)
        if document_hash(query) not in trusted_documents():
            self.problems.append(f"GraphQL document {name} is not a trusted document:\n{query}")


class Screens:
    """Numbered screenshots of one test, under .local/<profile>/screenshots/<test>/."""

    def __init__(self, test_name: str) -> None:
        profile = os.environ.get("STACK_PROFILE", "test")
        self.dir = ROOT / ".local" / profile / "screenshots" / re.sub(r"\W+", "_", test_name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.count = 0

    async def shot(self, page: Page, name: str) -> None:
        self.count += 1
        await page.screenshot(path=self.dir / f"{self.count:02d}-{name}.png", full_page=False)


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)


@pytest.fixture
async def new_page(chromium: Browser, live_url: str) -> AsyncIterator[NewPage]:
    """Opens guarded pages, each in its own browser context (its own user)."""
    contexts: list[BrowserContext] = []
    guards: dict[Page, Guard] = {}

    async def open_page(token: str | None = None) -> Page:
        context = await chromium.new_context(
            base_url=live_url, viewport={"width": 1000, "height": 800}, service_workers="block"
        )
        contexts.append(context)
        if token:
            # A signed-in browser: the client keeps its token in localStorage.
            await context.add_init_script(
                f"localStorage.getItem('photoshare.token') || "
                f"localStorage.setItem('photoshare.token', {json.dumps(token)})"
            )
        guard = Guard()
        page = await context.new_page()
        guards[page] = guard

        async def only_loopback(route: Route) -> None:
            host = urlsplit(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
                await route.continue_()
            else:
                guard.problems.append(f"request left 127.0.0.1: {route.request.url}")
                await route.abort()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                guard.problems.append(f"console error: {message.text} ({message.location})")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                guard.problems.append(f"HTTP {response.status}: {response.url}")

        await context.route("**/*", only_loopback)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: guard.problems.append(f"page error: {exc}"))

        def on_failed(request: Request) -> None:
            # A load the page itself cancelled (an image of a screen left
            # before it arrived) is not a failure; anything else is.
            if request.failure != "net::ERR_ABORTED":
                guard.problems.append(f"request failed: {request.url} {request.failure}")

        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        page.on("request", guard.check_request)
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        await context.close()
    problems = [p for guard in guards.values() for p in guard.problems]
    assert not problems, "\n".join(problems)
