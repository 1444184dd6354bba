"""A governed story for job tests: people, default policies, a dataset with consent, signed requests."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.core.files import File
from django.utils import timezone

from audit.actors import Actor
from governance.accounts import services as accounts
from governance.approvals.models import ReleaseRequest
from governance.approvals.services.policies import policy_seed_defaults
from governance.approvals.services.releases import release_create
from governance.approvals.services.signatures import release_sign
from governance.consent.services.ledger import EventInput, consent_record
from governance.consent.subjects import subject_hash_of
from registry.models import DatasetVersion
from registry.services.datasets import dataset_create, dataset_version_upload

PASSWORD = "correct horse battery staple 1"
SYSTEM = Actor.system("tests")
PARAMETERS = {"target": "churned", "n_estimators": 20, "max_depth": 5, "random_state": 3}


@dataclass
class People:
    requester: Any
    approver: Any
    second_approver: Any
    outsider: Any
    extra: dict[str, Any] = field(default_factory=dict)


def people() -> People:
    def user(name: str, role: str, full: str) -> Any:
        return accounts.user_create(
            actor=SYSTEM, username=name, roles=[role], password=PASSWORD, full_name=full
        )

    policy_seed_defaults(actor=SYSTEM)
    return People(
        requester=user("dana", "data_scientist", "Dana Scientist"),
        approver=user("olga", "compliance_officer", "Olga Officer"),
        second_approver=user("oscar", "compliance_officer", "Oscar Officer"),
        outsider=user("ada", "admin", "Ada Admin"),
    )


def people_extra_auditor() -> Any:
    return accounts.user_create(
        actor=SYSTEM, username="audrey", roles=["auditor"], password=PASSWORD, full_name="Audrey Auditor"
    )


def customers_csv(rows: int = 300, seed: int = 5) -> bytes:
    rng = np.random.default_rng(seed)
    lines = ["customer_id,tenure,plan,monthly_spend,churned"]
    for n in range(rows):
        tenure = int(rng.integers(1, 60))
        plan = ["basic", "plus", "pro"][int(rng.integers(0, 3))]
        spend = round(float(rng.normal(40, 12)), 2)
        churned = int((tenure < 20 and plan == "basic") or spend > 55)
        lines.append(f"c-{n // 2:04d},{tenure},{plan},{spend},{churned}")  # two rows per customer
    return ("\n".join(lines) + "\n").encode()


def customers_dataset(
    owner: Any, *, rows: int = 300, consent_for: int | None = None, personal: bool = True
) -> DatasetVersion:
    """A personal-data dataset version; the first ``consent_for`` customers (all by default) granted
    consent to ``train_ai_system``. ``personal=False``: the same rows declared free of personal data."""
    actor = Actor.for_user(owner)
    dataset = dataset_create(
        actor=actor,
        namespace="crm",
        name="customers",
        holds_personal_data=personal,
        subject_id_column="customer_id" if personal else "",
        jurisdictions=["eu_eea"],
        data_categories=["user.financial"],
        purposes=["train_ai_system"],
    )
    version = dataset_version_upload(
        actor=actor, dataset=dataset, upload=File(io.BytesIO(customers_csv(rows)), name="customers.csv")
    )
    customers = 0 if not personal else rows // 2 if consent_for is None else consent_for
    past = timezone.now() - timedelta(days=30)
    for n in range(customers):
        consent_record(
            actor=actor,
            event=EventInput(
                subject_hash=subject_hash_of(f"c-{n:04d}"),
                purpose="train_ai_system",
                kind="grant",
                jurisdiction="eu_eea",
                method="api",
                lawful_basis="consent",
                occurred_at=past,
            ),
        )
    return version


def train_request(requester: Any, version: DatasetVersion, **overrides: Any) -> ReleaseRequest:
    fields: dict[str, Any] = {
        "kind": "train",
        "model": "churn",
        "datasets": [{"namespace": "crm", "name": "customers", "version": version.version}],
        "parameters": PARAMETERS,
        "code_version": "git:4f2a9c1",
        "metric_thresholds": {"accuracy": 0.6},
        "risk_level": "limited",
        **overrides,
    }
    return release_create(actor=Actor.for_user(requester), **fields)


def deploy_request(
    requester: Any, version: int, environment: str = "staging", **extra: Any
) -> ReleaseRequest:
    return release_create(
        actor=Actor.for_user(requester),
        kind="deploy",
        model="churn",
        version=version,
        environment=environment,
        metric_thresholds={"accuracy": 0.6},
        **extra,
    )


def sign(release: ReleaseRequest, *signers: Any, meaning: str = "approved") -> None:
    for signer in signers:
        release_sign(
            actor=Actor.for_user(signer),
            release=release,
            signer=signer,
            meaning=meaning,
            password=PASSWORD,
            comment="checked",
        )
