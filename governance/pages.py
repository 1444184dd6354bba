"""Pages for people (Django templates, no JavaScript build): the home page, the signed-out page and the
API reference's Redoc view."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.views import SpectacularRedocView

from governance.core.permissions import user_roles
from governance.home import home_context


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role's start: what waits for it, each count linking to its filtered list (governance/home.py)."""
    roles = user_roles(request.user)
    context = home_context(request.user, roles)
    return render(request, "home.html", {"roles": sorted(roles), **context})


def signed_out(request: HttpRequest) -> HttpResponse:
    """Where signing out lands (LOGOUT_REDIRECT_URL), from the console or the admin site."""
    return render(request, "registration/logged_out.html")


# Redoc (drf-spectacular-sidecar's bundle) needs three things beyond the site's policy, on its page only:
# - styled-components adds *empty* <style> elements and fills them through the CSSOM, which the CSP does
#   not govern: the first hash is SHA-256 of the empty string, so no inline CSS text comes with it;
# - it inlines perfect-scrollbar's stylesheet: the second hash is of that exact text (a new Redoc build
#   changes it, and tests/console/test_api_docs_browser.py then fails on the refused style);
# - its search index runs in a Web Worker made from a blob: URL of its own code.
# Still no inline script. Redoc's footer logo (an image on Redocly's CDN) stays refused: nothing external.
REDOC_CSP = {
    "style-src": [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ],
    "worker-src": ["'self'", "blob:"],
}
redoc = csp_update(REDOC_CSP)(SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"))
