"""Pages for people (Django templates, no JavaScript build): the home page, the signed-out page and the
API reference's Redoc view."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.views import SpectacularRedocView

from governance.core.permissions import user_roles


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"roles": sorted(user_roles(request.user))})


def signed_out(request: HttpRequest) -> HttpResponse:
    """Where signing out lands (LOGOUT_REDIRECT_URL), from the console or the admin site."""
    return render(request, "registration/logged_out.html")


redoc = SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html")
