"""The documentation pages and the icon are served from this server: no CDN in the pages or
in their Content-Security-Policy, the bundles answered locally, /favicon.ico an image."""

from __future__ import annotations

import re

import pytest

from test_edge_headers_and_reads import directives

DOCS = ["/docs", "/redoc", "/docs/oauth2-redirect"]


@pytest.mark.parametrize("path", DOCS)
def test_docs_pages_name_no_other_host(api, path):
    page = api.client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "an asset off-site"
    csp = directives(page.headers["content-security-policy"])
    for sources in csp.values():
        assert not [s for s in sources if "." in s and not s.startswith("'sha256-")], csp
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"][0] == "'self'"
    assert all(s.startswith("'sha256-") for s in csp["script-src"][1:])
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["connect-src"] == ["'self'"] and csp["img-src"] == ["'self'", "data:"]


def test_the_docs_pages_load_their_bundles_from_here(api):
    urls = set()
    for path in ("/docs", "/redoc"):
        urls |= set(re.findall(r"""(?:src|href)=["'](/[^"']+)""", api.client.get(path).text))
    assert {"/docs-static/swagger-ui-bundle.js", "/docs-static/swagger-ui.css",
            "/docs-static/redoc.standalone.js", "/static/favicon.svg"} <= urls
    for url in urls:
        answer = api.client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["x-content-type-options"] == "nosniff"
        kind = answer.headers["content-type"]
        if url.endswith(".js"):
            assert kind.startswith(("text/javascript", "application/javascript")), url
            assert len(answer.content) > 100_000, url  # the bundle, not a stub
        elif url.endswith(".css"):
            assert kind.startswith("text/css"), url


def test_swagger_ui_start_script_is_allowed_by_its_hash(api):
    page = api.client.get("/docs")
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert len(inline) == 1 and "SwaggerUIBundle(" in inline[0]
    script_src = directives(page.headers["content-security-policy"])["script-src"]
    assert len(script_src) == 2  # 'self' and that one script's hash


def test_favicon_is_an_image(api):
    answer = api.client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/")
    assert b"<svg" in answer.content
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/portal", "/hall", "/counter", "/inpatient"])
def test_pages_link_the_icon(api, path):
    page = api.client.get(path)
    link = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
    assert link, "no <link rel=icon> in the <head>"
    icon = api.client.get(link.group(1))
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
