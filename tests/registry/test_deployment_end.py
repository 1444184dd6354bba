"""Ending a deployment is one service whichever way in: retiring it (``deployment.end``) or stopping it
with a reason (``deployment.stop``, EU AI Act Art. 14(4)(e)); either way it ends once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry
from governance.core.errors import Conflict, ValidationFailed
from registry.models import Deployment
from registry.services.deployments import deployment_end
from registry.services.stopping import deployment_stop
from tests.registry.factories import build_story

pytestmark = pytest.mark.django_db


def test_a_stopped_deployment_cannot_be_ended_again(make_user: Callable[..., Any]) -> None:
    owner = make_user("dana", "data_scientist")
    story = build_story(owner)
    actor = Actor.for_user(owner)

    stopped = deployment_stop(actor=actor, environment="production", model_name="churn", reason=" bias ")
    with pytest.raises(Conflict, match="has ended already"):
        deployment_end(actor=actor, deployment=Deployment.objects.get(pk=story.deployment.pk))

    assert stopped.until is not None
    entries = AuditEntry.objects.filter(target_id=story.deployment.node_id)
    assert [entry.action for entry in entries] == [AuditAction.DEPLOYMENT_STOP]
    assert json.loads(entries[0].entry)["data"]["reason"] == "bias"


def test_it_refuses_a_stop_without_a_reason_and_changes_nothing(make_user: Callable[..., Any]) -> None:
    owner = make_user("dana", "data_scientist")
    story = build_story(owner)
    audit_before = AuditEntry.objects.count()

    with pytest.raises(ValidationFailed, match="reason"):
        deployment_end(actor=Actor.for_user(owner), deployment=story.deployment, reason="   ")

    assert Deployment.objects.get(pk=story.deployment.pk).until is None
    assert AuditEntry.objects.count() == audit_before
