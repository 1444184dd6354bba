"""Acceptance 4 of issue 17: no template (and no stylesheet of ours) loads a script, stylesheet, font or
image from another host; everything the console needs is served by the service itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "var", "node_modules", ".git", "build", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
EXTERNAL = r"""["']?\s*(?:https?:|//)"""
PATTERNS = {
    "script src": re.compile(rf"<script\b[^>]*\bsrc\s*=\s*{EXTERNAL}", re.I),
    "link href": re.compile(rf"<link\b[^>]*\bhref\s*=\s*{EXTERNAL}", re.I),
    "@import": re.compile(rf"@import\s+(?:url\(\s*)?{EXTERNAL}", re.I),
    "url()": re.compile(rf"url\(\s*{EXTERNAL}", re.I),
    "src attribute of img/iframe/source/embed": re.compile(
        rf"<(?:img|iframe|source|embed|object|audio|video)\b[^>]*\b(?:src|data)\s*=\s*{EXTERNAL}", re.I
    ),
}


def _ours(suffix: str) -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob(f"*{suffix}")
        if not SKIPPED & set(path.relative_to(ROOT).parts) and "vendor" not in path.relative_to(ROOT).parts
    )


def external_references(text: str) -> list[str]:
    """Which kinds of external reference ``text`` holds (empty when none)."""
    return [kind for kind, pattern in PATTERNS.items() if pattern.search(text)]


def test_the_templates_and_stylesheets_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _ours(".html")}
    assert "governance/templates/base.html" in names
    assert "governance/templates/api/redoc.html" in names
    assert any(path.name == "console.css" for path in _ours(".css"))


@pytest.mark.parametrize("suffix", [".html", ".css", ".js"])
def test_no_template_script_or_stylesheet_loads_anything_from_another_host(suffix: str) -> None:
    offenders = {
        path.relative_to(ROOT).as_posix(): found
        for path in _ours(suffix)
        if (found := external_references(path.read_text(encoding="utf-8", errors="replace")))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "text",
    [
        '<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@latest/swagger-ui-bundle.js"></script>',
        "<script defer src='//unpkg.com/htmx.org'></script>",
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto">',
        '<link href="//cdn.example/x.css" rel="stylesheet">',
        "<style>@import url('https://fonts.googleapis.com/css');</style>",
        '@import "https://example.com/theme.css";',
        "@font-face { font-family: X; src: url(https://fonts.gstatic.com/x.woff2); }",
        '<img src="https://cdn.redoc.ly/redoc/logo-mini.svg" alt="">',
    ],
)
def test_each_kind_of_external_reference_is_caught(text: str) -> None:
    assert external_references(text)


@pytest.mark.parametrize(
    "text",
    [
        "<script src=\"{% static 'console/menu.js' %}\"></script>",
        '<link rel="stylesheet" href="/static/console/console.css">',
        '<a href="https://eur-lex.europa.eu/eli/reg/2016/679/oj">GDPR</a>',  # a link to read, not a load
        "background: url(data:image/svg+xml;base64,AAAA);",
    ],
)
def test_our_own_files_and_plain_links_pass(text: str) -> None:
    assert external_references(text) == []
