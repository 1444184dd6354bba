"""Pages for compliance officers and auditors: the lineage of a node, drawn (Django templates, no JS)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from governance.accounts.permissions import user_roles
from governance.accounts.roles import Role
from governance.errors import ApplicationError
from registry.reports.assemble import lineage_report_build
from registry.reports.svg import render_svg

PAGE_READERS = frozenset({Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.DATA_SCIENTIST})


@login_required
def lineage_page(request: HttpRequest) -> HttpResponse:
    """``/lineage/?nodeId=model:churn#3``: the upstream graph, the data, runs and deployments."""
    if not user_roles(request.user) & PAGE_READERS:
        raise PermissionDenied("The lineage pages are for compliance officers, auditors and data scientists.")
    node_id = request.GET.get("nodeId", "").strip()
    context: dict[str, object] = {"node_id": node_id}
    if node_id:
        try:
            report = lineage_report_build(subject=node_id)
        except ApplicationError as exc:
            context["error"] = exc.detail
            return render(request, "registry/lineage.html", context, status=exc.status)
        # render_svg escapes every label itself (tested), so its output is safe to embed.
        context.update(report=report, svg=mark_safe(render_svg(report, standalone=False)))  # noqa: S308
    return render(request, "registry/lineage.html", context)
