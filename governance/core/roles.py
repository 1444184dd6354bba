"""The five roles and exactly the model permissions each needs (nothing more).

Groups are created by migration ``0002``; their permissions are synced from ``ROLE_PERMISSIONS`` after
every migrate, because permissions for models added by later apps exist only once those apps migrate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models


class Role(models.TextChoices):
    DATA_SCIENTIST = "data_scientist", "Data scientist"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    AUDITOR = "auditor", "Auditor"
    PIPELINE = "pipeline", "Pipeline (machine)"
    ADMIN = "admin", "Administrator"


ALL_ROLES: frozenset[str] = frozenset(Role.values)

# Auditors and compliance officers read the registry (also in the admin site); nobody edits it there.
REGISTRY_VIEW = {
    f"registry.view_{model}"
    for model in (
        "registeredmodel",
        "modelversion",
        "modelalias",
        "dataset",
        "datasetversion",
        "trainingrun",
        "deployment",
        "job",
        "lineageedge",
        "datasetfield",
        "columnlineageedge",
        "columncategory",
        "qualityprofile",
    )
}

# Release approvals: officers and auditors read requests, signatures and grants; admins read policies.
APPROVALS_VIEW = {
    f"approvals.view_{model}" for model in ("policy", "policyversion", "releaserequest", "signature", "grant")
}
POLICY_VIEW = {"approvals.view_policy", "approvals.view_policyversion"}

# ... and the consent ledger, privacy requests and exemptions (read-only: services write them).
CONSENT_VIEW = {
    f"consent.view_{model}"
    for model in ("consentnotice", "consentevent", "consentimport", "privacyrequest", "erasureexemption")
}

# ... and drift checks and their webhook deliveries (read-only: services write them).
MONITORING_VIEW = {"monitoring.view_driftcheck", "monitoring.view_webhookdelivery"}

# "app_label.codename" per role. The admin site is for administrators and, read-only, auditors.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.DATA_SCIENTIST: set(),
    Role.PIPELINE: set(),
    Role.COMPLIANCE_OFFICER: {
        "audit.view_auditentry",
        *REGISTRY_VIEW,
        *APPROVALS_VIEW,
        *CONSENT_VIEW,
        *MONITORING_VIEW,
    },
    Role.AUDITOR: {"audit.view_auditentry", *REGISTRY_VIEW, *APPROVALS_VIEW, *CONSENT_VIEW, *MONITORING_VIEW},
    Role.ADMIN: {
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_apitoken",
        "audit.view_auditentry",
        *POLICY_VIEW,
    },
}

# Roles whose members may open the admin site (it shows them only what their permissions allow).
STAFF_ROLES: frozenset[str] = frozenset({Role.ADMIN, Role.AUDITOR})


def validate_roles(roles: Iterable[str]) -> list[str]:
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in ALL_ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(sorted(ALL_ROLES))}")
    return wanted


def sync_role_permissions(group_model: Any, permission_model: Any) -> None:
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for code in sorted(codes):
            app_label, codename = code.split(".")
            wanted.extend(
                permission_model.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def sync_role_permissions_after_migrate(**_: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    sync_role_permissions(Group, Permission)
