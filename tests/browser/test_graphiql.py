"""GraphiQL at GET /graphql works with no internet: its files come from npm
(frontend-sample/dist/graphiql/, served at /static/graphiql/)."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import NewPage, Screens


async def test_graphiql_renders_offline_and_explains_the_token(
    new_page: NewPage, screens: Screens
) -> None:
    page = await new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await page.goto("/graphql")
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    await expect(editor).to_be_visible()
    text = await editor.evaluate("el => el.CodeMirror.getValue()")
    assert "mutation LogIn" in text and "Bearer" in text and "Headers tab" in text
    # The schema arrived (introspection through this origin): the docs list Query.
    await page.get_by_role("button", name="Show Documentation Explorer").click()
    await expect(page.get_by_text("Query", exact=True).first).to_be_visible()
    await screens.shot(page, "graphiql")
    # Run the default LogIn: alice exists only if another test seeded the demo
    # data; either way the answer is GraphQL JSON from this origin.
    await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
    await page.get_by_role("menuitem", name="LogIn").click()
    result = page.locator(".graphiql-response .CodeMirror")
    await expect(result).to_contain_text(re.compile(r"invalid username or password|\"token\""))
    assert all(url.startswith("http://127.0.0.1") for url in requests), requests
    assert any("/static/graphiql/graphiql.min.js" in url for url in requests)
