"""Pages for compliance officers, auditors and data scientists: models, datasets, and the lineage of a
node drawn as a linked SVG (zoom and pan from a static script, registry/static/registry/lineage.js).
Each shows the privacy requests that block what it shows (``registry.reports.erasure``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from governance.core.errors import ApplicationError, NotFound
from governance.core.permissions import user_roles
from governance.core.roles import Role
from registry.models import RiskClassification
from registry.reports import columns
from registry.reports.assemble import lineage_report_build
from registry.reports.erasure import erasure_blocks
from registry.reports.links import node_page_url
from registry.reports.svg import render_svg
from registry.selectors import catalog

T = TypeVar("T")
PAGE_READERS = frozenset({Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.DATA_SCIENTIST})
# Who may export a model version's technical documentation (governance.documentation): the page links it
# for them only.
DOCUMENTATION_READERS = frozenset({Role.COMPLIANCE_OFFICER, Role.AUDITOR})


def _check_reader(request: HttpRequest) -> None:
    if not user_roles(request.user) & PAGE_READERS:
        raise PermissionDenied("These pages are for compliance officers, auditors and data scientists.")


@login_required
def model_detail_page(request: HttpRequest, name: str) -> HttpResponse:
    _check_reader(request)
    model = _or_404(lambda: catalog.model_get(name=name))
    history = RiskClassification.objects.select_related("decided_by")
    prefetch_related_objects([model], Prefetch("risk_classifications", queryset=history))
    versions = catalog.model_version_list(model=model).prefetch_related("deployments")
    blocks = erasure_blocks(version.node_id for version in versions)
    context = {
        "model": model,
        "versions": versions,
        "erasure_blocks": blocks,
        "documentation": bool(user_roles(request.user) & DOCUMENTATION_READERS),
    }
    return render(request, "registry/model.html", context)


def _or_404(load: Callable[[], T]) -> T:
    try:
        return load()
    except NotFound as exc:
        raise Http404(exc.detail) from exc


@login_required
def lineage_page(request: HttpRequest) -> HttpResponse:
    """``/lineage/?nodeId=model:churn#3``: the upstream graph, the data, runs and deployments."""
    _check_reader(request)
    node_id = request.GET.get("nodeId", "").strip()
    context: dict[str, object] = {"node_id": node_id}
    if node_id:
        try:
            report = lineage_report_build(subject=node_id)
        except ApplicationError as exc:
            context["error"] = exc.detail
            return render(request, "registry/lineage.html", context, status=exc.status)
        # render_svg escapes every label itself (tested), so its output is safe to embed.
        svg = render_svg(report, standalone=False, link=node_page_url)
        shown, hidden = columns.shown_columns(report)
        context.update(
            report=report,
            svg=mark_safe(svg),  # noqa: S308
            erasure_blocks=report.get("erasure_blocks", []),
            input_columns=[{**entry, "route": columns.route_text(entry)} for entry in shown],
            columns_hidden=hidden,
            column_summary=columns.summary(report),
        )
    return render(request, "registry/lineage.html", context)
