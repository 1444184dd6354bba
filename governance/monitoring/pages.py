"""The deployment's monitoring page: drift over time (SVG), latest checks, webhook deliveries, and the
privacy requests that block the version it serves."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from governance.consent.selectors.blocks import erasure_blocks_for
from governance.core.permissions import user_roles
from governance.core.roles import Role
from governance.monitoring import charts, selectors

PAGE_READERS = frozenset({Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.DATA_SCIENTIST})


@login_required
@require_GET
def deployment_page(request: HttpRequest, environment: str, model: str) -> HttpResponse:
    if not user_roles(request.user) & PAGE_READERS:
        raise PermissionDenied("This page is for compliance officers, auditors and data scientists.")
    deployment = selectors.deployment_any(environment=environment, model_name=model)
    if deployment is None:
        raise Http404(f"model {model!r} was never deployed to {environment!r}")
    thresholds = selectors.thresholds_for(deployment)
    checks = list(reversed(selectors.checks_latest(deployment=deployment, limit=100)))
    names = [feature["name"] for feature in checks[-1].result["features"]] if checks else []
    series: dict[str, list[float | None]] = {name: [] for name in names}
    for check in checks:
        by_name = {feature["name"]: feature["psi"] for feature in check.result["features"]}
        for name in names:
            series[name].append(by_name.get(name) if check.conclusive else None)
    # The SVG is built from numbers and XML-escaped names only (charts.line_chart), so it is safe.
    chart = charts.line_chart([check.created_at for check in checks], series, threshold=thresholds["psi"])
    return render(
        request,
        "monitoring/deployment.html",
        {
            "deployment": deployment,
            "thresholds": thresholds,
            "chart": mark_safe(chart),  # noqa: S308 (escaped in charts.line_chart)
            "checks": list(reversed(checks))[:20],
            "deliveries": selectors.deliveries_latest(deployment=deployment),
            "erasure_blocks": erasure_blocks_for([deployment.node_id, deployment.model_version.node_id]),
        },
    )
