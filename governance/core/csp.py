"""Content Security Policy helpers for documents that must stand alone.

A downloadable report (the lineage report's HTML) carries its stylesheet inside itself, so it reads the
same opened from a zip on a laptop with no network. Served by us it gets the site's policy, whose
``style-src 'self'`` refuses inline styles; ``admit_own_styles`` admits exactly the ``<style>`` elements
the document holds, by the SHA-256 of their text (CSP Level 3, "hash-source"), and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse, HttpResponseBase

_STYLE = re.compile(rb"<style(?:\s[^>]*)?>(.*?)</style>", re.S | re.I)


def style_hashes(document: bytes) -> list[str]:
    """The CSP hash-sources of the document's ``<style>`` elements, in order, without repeats."""
    found: list[str] = []
    for text in _STYLE.findall(document):
        source = "'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode("ascii") + "'"
        if source not in found:
            found.append(source)
    return found


def admit_own_styles(request: Any, response: HttpResponse) -> HttpResponseBase:
    """``response`` with its page's policy admitting the inline stylesheets its own body carries
    (``request``: the view's, a Django or a REST framework request)."""
    hashes = style_hashes(response.content)
    if not hashes:
        return response

    @csp_update({"style-src": hashes})
    def answer(_: HttpRequest) -> HttpResponse:
        return response

    return answer(request)
