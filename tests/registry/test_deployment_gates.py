"""The registry's deployment gate: the consent app's erasure check is installed at start, and without any
check installed every deployment is refused (fail closed), nothing stored, nothing audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals.selectors import approvals_for_nodes
from governance.consent.selectors import erasure_block_reason
from governance.core.errors import Conflict
from registry.models import Deployment
from registry.reports import assemble
from registry.services import deployments
from tests.registry.factories import build_story

pytestmark = pytest.mark.django_db


def test_the_consent_erasure_check_guards_every_deployment() -> None:
    assert deployments.deployment_gates().get(erasure_block_reason) == "affected_by_erasure"


def test_it_refuses_every_deployment_while_no_check_is_installed(
    make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_user("dana", "data_scientist")
    story = build_story(owner)
    deployments_before = Deployment.objects.count()
    audit_before = AuditEntry.objects.count()
    monkeypatch.setattr(deployments, "_gates", {})

    with pytest.raises(Conflict) as refused:
        deployments.deployment_create(
            actor=Actor.for_user(owner),
            model_version=story.model_version,
            environment="staging",
            endpoint="/p",
        )

    assert refused.value.code == "deployment_gate_missing"
    assert Deployment.objects.count() == deployments_before
    assert AuditEntry.objects.count() == audit_before


def test_a_gate_refusal_carries_the_gate_code_and_stores_nothing(
    make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_user("dana", "data_scientist")
    story = build_story(owner)
    deployments_before = Deployment.objects.count()
    monkeypatch.setattr(deployments, "_gates", {})
    deployments.deployment_gate(lambda *, model_version: f"{model_version.node_id} is held", code="held")

    with pytest.raises(Conflict) as refused:
        deployments.deployment_create(
            actor=Actor.for_user(owner),
            model_version=story.model_version,
            environment="staging",
            endpoint="/p",
        )

    assert refused.value.code == "held"
    assert "is held" in str(refused.value.detail)
    assert Deployment.objects.count() == deployments_before


def test_the_lineage_report_takes_its_approvals_from_the_approvals_app() -> None:
    assert approvals_for_nodes in assemble.approvals_sources()
