"""Writing release policies: each change is a new, immutable, audited version.

Requests already made keep the version they were made under (they point at that row), so a stricter
or looser policy applies to new requests only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.approvals import rules
from governance.approvals.models import Policy, PolicyVersion
from governance.core.errors import Conflict, ValidationFailed

POLICY_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
DAY: Final = 86_400

# The policies `manage.py seed_policies` installs (and the demo uses): strict where the law is.
_SAFETY_CHECKS: Final[list[dict[str, Any]]] = [
    {"name": "risk_not_prohibited"},
    {"name": "dpia_reference", "risk_levels": ["high"]},
    {"name": "human_overseer", "risk_levels": ["high"]},
    {"name": "no_erasure_impact"},
]
# Drift alarms for what these policies deploy (governance.monitoring): PSI above 0.2 is a shift worth a
# look (Siddiqi 2006); KS 0.2 stays clear of sampling noise at a few hundred predictions per check.
_MONITORING: Final[dict[str, float]] = {"psi": 0.2, "ks": 0.2, "prediction_psi": 0.2, "accuracy_drop": 0.05}
DEFAULT_POLICIES: Final[list[dict[str, Any]]] = [
    {
        "name": "train-default",
        "description": "Training any model: thresholds declared up front, a lawful basis for the data, "
        "no erased subjects; high risk adds a DPIA and a named overseer. One compliance officer.",
        "spec": {
            "kind": "train",
            "environment": "*",
            "risk_levels": ["*"],
            "checks": [
                *_SAFETY_CHECKS,
                {"name": "metric_thresholds"},
                {"name": "lawful_basis", "params": {"purpose": "train_ai_system"}},
            ],
            "required_approvals": [{"role": "compliance_officer", "count": 1}],
            "approval_validity_seconds": 7 * DAY,
        },
    },
    {
        "name": "train-high-risk",
        "description": "Training a high-risk model (EU AI Act Art. 6): two compliance officers.",
        "spec": {
            "kind": "train",
            "environment": "*",
            "risk_levels": ["high"],
            "checks": [
                *_SAFETY_CHECKS,
                {"name": "metric_thresholds"},
                {"name": "lawful_basis", "params": {"purpose": "train_ai_system"}},
            ],
            "required_approvals": [{"role": "compliance_officer", "count": 2}],
            "approval_validity_seconds": 7 * DAY,
        },
    },
    {
        "name": "deploy-default",
        "description": "Deploying to any environment but production: one compliance officer.",
        "spec": {
            "kind": "deploy",
            "environment": "*",
            "risk_levels": ["*"],
            "checks": [*_SAFETY_CHECKS, {"name": "metric_thresholds"}],
            "required_approvals": [{"role": "compliance_officer", "count": 1}],
            "monitoring": _MONITORING,
            "approval_validity_seconds": 7 * DAY,
        },
    },
    {
        "name": "deploy-production",
        "description": "Deploying to production: two compliance officers, approvals valid for three days.",
        "spec": {
            "kind": "deploy",
            "environment": "production",
            "risk_levels": ["*"],
            "checks": [*_SAFETY_CHECKS, {"name": "metric_thresholds"}],
            "required_approvals": [{"role": "compliance_officer", "count": 2}],
            "monitoring": _MONITORING,
            "approval_validity_seconds": 3 * DAY,
        },
    },
]


def _spec(raw: Mapping[str, Any]) -> rules.PolicySpec:
    try:
        return rules.policy_spec_validate(raw)
    except rules.PolicyError as exc:
        raise ValidationFailed(str(exc)) from exc


def _version_data(version: PolicyVersion) -> dict[str, Any]:
    return {"version": version.version, **version.spec(), "active": version.active}


@transaction.atomic
def policy_create(
    *, actor: Actor, name: str, spec: Mapping[str, Any], description: str = ""
) -> PolicyVersion:
    """Create a policy with its first version."""
    if not POLICY_NAME.match(name):
        raise ValidationFailed(
            f"name: {name!r} is not a policy name; use up to 100 lowercase letters, digits, '_' or '-'"
        )
    checked = _spec(spec)
    now = timezone.now()
    try:
        with transaction.atomic():
            policy = Policy.objects.create(
                name=name, description=description, created_by_id=actor.user_id, created_at=now
            )
    except IntegrityError as exc:
        raise Conflict(
            f"a policy named {name!r} exists; add a version to it instead", code="policy_exists"
        ) from exc
    version = PolicyVersion.objects.create(
        policy=policy, version=1, created_by_id=actor.user_id, created_at=now, **checked
    )
    audit_record(
        actor=actor,
        action=AuditAction.POLICY_CREATE,
        target=Target.of("policy", name),
        data=_version_data(version),
    )
    return version


@transaction.atomic
def policy_version_create(
    *, actor: Actor, policy: Policy, spec: Mapping[str, Any], active: bool = True, change_note: str = ""
) -> PolicyVersion:
    """Add the next version of ``policy`` (``active=False`` retires it for new requests)."""
    checked = _spec(spec)
    # The lock makes concurrent edits number their versions 2, 3, ... with neither gap nor clash.
    locked = Policy.objects.select_for_update().get(pk=policy.pk)
    latest = PolicyVersion.objects.filter(policy=locked).aggregate(latest=Max("version"))["latest"] or 0
    version = PolicyVersion.objects.create(
        policy=locked,
        version=latest + 1,
        active=active,
        change_note=change_note,
        created_by_id=actor.user_id,
        created_at=timezone.now(),
        **checked,
    )
    audit_record(
        actor=actor,
        action=AuditAction.POLICY_UPDATE,
        target=Target.of("policy", locked.name),
        data=_version_data(version),
    )
    return version


def policy_seed_defaults(*, actor: Actor) -> list[str]:
    """Create the default policies that do not exist yet (each one its own audited action); returns
    the names created, so running it twice creates nothing."""
    existing = set(Policy.objects.values_list("name", flat=True))
    created: list[str] = []
    for default in DEFAULT_POLICIES:
        if default["name"] in existing:
            continue
        policy_create(
            actor=actor, name=default["name"], description=default["description"], spec=default["spec"]
        )
        created.append(default["name"])
    return created
