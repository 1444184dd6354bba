"""One action, one audit entry: every mutating service writes exactly one entry naming its action."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def _user_create(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services

    services.user_create(actor=ACTOR, username="svc-new", roles=["auditor"], full_name="New Person")
    return "user.create"


def _user_set_roles(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services

    services.user_set_roles(actor=ACTOR, user=make_user("svc-roles", "pipeline"), roles=["auditor"])
    return "user.roles_change"


def _token_issue(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services

    services.token_issue(actor=ACTOR, user=make_user("svc-token", "pipeline"), name="t")
    return "token.issue"


def _token_revoke(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services
    from governance.accounts.models import ApiToken

    user = make_user("svc-revoke", "pipeline")
    services.token_issue(actor=ACTOR, user=user, name="t")
    services.token_revoke(actor=ACTOR, prefix=ApiToken.objects.get(user=user).prefix)
    return "token.revoke"


def _user_unlock(make_user: Any, tmp_path: Path) -> str:
    from django.db import transaction

    from governance.accounts import lockouts

    user = make_user("svc-locked", "compliance_officer")
    with transaction.atomic():
        lockouts.signing_lock_impose(user=user)
    lockouts.user_unlock(actor=ACTOR, user=user)
    return "user.unlock"


def _login_failure_count(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts.login_lockout import login_failure_count, username_subject

    login_failure_count(subject=username_subject("svc-guessed"))
    return "auth.login_failed"


def _login_lockout_record(make_user: Any, tmp_path: Path) -> str:
    from django.utils import timezone

    from governance.accounts.login_lockout import Lock, attempted_name, login_lockout_record

    login_lockout_record(lock=Lock("username", "username", attempted_name("svc-guessed"), 5, timezone.now()))
    return "auth.login_locked_out"


def _audit_export(make_user: Any, tmp_path: Path) -> str:
    from audit.exporting import audit_export

    audit_export(actor=ACTOR, out=tmp_path / "bundle.zip")
    return "audit.export"


def _actor_for(make_user: Any, username: str) -> Actor:
    return Actor.for_user(make_user(username, "data_scientist", full_name="Dana Scientist"))


def _model(make_user: Any) -> Any:
    from registry.services import catalog

    return catalog.model_create(actor=_actor_for(make_user, "svc-owner"), name="svc-model", risk_level="high")


def _model_create(make_user: Any, tmp_path: Path) -> str:
    _model(make_user)
    return "model.create"


def _model_update(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.model_update(actor=ACTOR, model=_model(make_user), changes={"description": "now described"})
    return "model.update"


def _model_archive(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.model_archive(actor=ACTOR, model=_model(make_user))
    return "model.archive"


def _model_version_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    model = _model(make_user)
    catalog.model_version_create(
        actor=_actor_for(make_user, "svc-ds"),
        model=model,
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
    )
    return "model_version.create"


def _dataset_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import datasets

    datasets.dataset_create(actor=_actor_for(make_user, "svc-ds"), name="svc-data")
    return "dataset.create"


def _dataset_declarations_update(make_user: Any, tmp_path: Path) -> str:
    from registry.services import datasets

    dataset = datasets.dataset_create(actor=_actor_for(make_user, "svc-ds"), name="svc-data")
    datasets.dataset_declarations_update(actor=ACTOR, dataset=dataset, target_column="label")
    return "dataset.update"


def _dataset_version_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import datasets

    actor = _actor_for(make_user, "svc-ds")
    dataset = datasets.dataset_create(actor=actor, name="svc-data")
    datasets.dataset_version_create(
        actor=actor, dataset=dataset, version="v1", uri="s3://b/d.csv", sha256="b" * 64
    )
    return "dataset_version.create"


def _run_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.run_create(actor=_actor_for(make_user, "svc-ds"), code_version="git:1")
    return "run.create"


def _deployment_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog, deployments

    actor = _actor_for(make_user, "svc-ds")
    version = catalog.model_version_create(
        actor=actor,
        model=_model(make_user),
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
    )
    deployments.deployment_create(actor=actor, model_version=version, environment="staging", endpoint="/p")
    return "deployment.create"


def _deployment_end(make_user: Any, tmp_path: Path) -> str:
    from registry.models import Deployment
    from registry.services import deployments

    _deployment_create(make_user, tmp_path)
    deployments.deployment_end(actor=ACTOR, deployment=Deployment.objects.get())
    return "deployment.end"


def _approvals_release(make_user: Any, policy_name: str = "svc-policy", officers: int = 1) -> Any:
    from django.utils import timezone

    from governance.approvals.services.policies import policy_create
    from governance.approvals.services.releases import release_create
    from registry.models import Dataset, DatasetVersion

    policy_create(
        actor=ACTOR,
        name=policy_name,
        spec={
            "kind": "train",
            "required_approvals": [{"role": "compliance_officer", "count": officers}],
            "approval_validity_seconds": 3600,
        },
    )
    requester = make_user("svc-requester", "data_scientist", full_name="Rita Requester")
    dataset = Dataset.objects.create(name="svc-release-data", created_at=timezone.now())
    DatasetVersion.objects.create(dataset=dataset, version="v1", sha256="c" * 64, created_at=timezone.now())
    return release_create(
        actor=Actor.for_user(requester),
        kind="train",
        model="svc-release-model",
        risk_level="minimal",
        datasets=[{"namespace": "default", "name": "svc-release-data", "version": "v1"}],
        parameters={"target": "label"},
    )


def _officer(make_user: Any, username: str = "svc-officer") -> Any:
    return make_user(
        username, "compliance_officer", password="Correct-Horse-Battery-42", full_name="Olivia Officer"
    )


def _sign(make_user: Any, release: Any, username: str = "svc-officer") -> Any:
    from governance.approvals.services.signatures import release_sign

    officer = _officer(make_user, username)
    return release_sign(
        actor=Actor.for_user(officer),
        release=release,
        signer=officer,
        meaning="approved",
        password="Correct-Horse-Battery-42",
    )


def _policy_create(make_user: Any, tmp_path: Path) -> str:
    _approvals_release(make_user)
    return "policy.create"


def _policy_version_create(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.models import Policy
    from governance.approvals.services.policies import policy_version_create

    _approvals_release(make_user)
    policy_version_create(
        actor=ACTOR,
        policy=Policy.objects.get(),
        spec={
            "kind": "train",
            "required_approvals": [{"role": "compliance_officer", "count": 2}],
            "approval_validity_seconds": 3600,
        },
    )
    return "policy.update"


def _release_create(make_user: Any, tmp_path: Path) -> str:
    _approvals_release(make_user)
    return "release.create"


def _release_withdraw(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.services.releases import release_withdraw

    release = _approvals_release(make_user)
    release_withdraw(actor=ACTOR, release=release, by=release.requested_by)
    return "release.withdraw"


def _release_sign(make_user: Any, tmp_path: Path) -> str:
    _sign(make_user, _approvals_release(make_user, officers=2))
    return "release.sign"


def _signing_failure_record(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.services.signatures import signing_failure_record

    release = _approvals_release(make_user)
    signing_failure_record(actor=ACTOR, user=_officer(make_user), release=release)
    return "release.sign_failed"


def _signing_lock(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.services.signatures import signing_lock

    signing_lock(actor=ACTOR, user=_officer(make_user), failures=5)
    return "release.signing_locked"


def _signature_revoke(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.services.signatures import signature_revoke

    signature = _sign(make_user, _approvals_release(make_user, officers=2))
    signature_revoke(actor=ACTOR, signature=signature, by=signature.signer, reason="signed the wrong one")
    return "release.approval_revoke"


def _grant_issue(make_user: Any, tmp_path: Path) -> str:
    _sign(make_user, _approvals_release(make_user))  # the quorum is met: signing issues the grant
    return "grant.issue"


def _grant_claim(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.models import Grant
    from governance.approvals.services.grants import grant_claim

    _sign(make_user, _approvals_release(make_user))
    grant_claim(grant_id=Grant.objects.get().grant_id, actor=Actor.worker("tests"))
    return "grant.claim"


def _release_checks_rerun(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts.models import User
    from governance.approvals.services.checks import release_checks_rerun
    from governance.approvals.services.policies import policy_create
    from governance.approvals.services.releases import release_create
    from registry.models import Dataset, DatasetVersion

    policy_create(
        actor=ACTOR,
        name="svc-checks",
        spec={
            "kind": "train",
            "checks": [{"name": "human_overseer"}],
            "required_approvals": [{"role": "compliance_officer", "count": 1}],
            "approval_validity_seconds": 3600,
        },
    )
    overseer = make_user("svc-overseer", "compliance_officer", full_name="Owen Overseer")
    at = overseer.date_joined
    dataset = Dataset.objects.create(name="svc-checks-data", created_at=at)
    DatasetVersion.objects.create(dataset=dataset, version="v1", sha256="d" * 64, created_at=at)
    release = release_create(
        actor=_actor_for(make_user, "svc-check-requester"),
        kind="train",
        model="svc-checks-model",
        risk_level="minimal",
        datasets=[{"namespace": "default", "name": "svc-checks-data", "version": "v1"}],
        parameters={"target": "label"},
        human_overseer="svc-overseer",
    )
    User.objects.filter(pk=overseer.pk).update(is_active=False)  # the overseer left: the check now fails
    release.human_overseer.refresh_from_db()
    release_checks_rerun(actor=ACTOR, release=release, occasion="tests")
    return "release.checks_change"


def _consent_notice_create(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.ledger import consent_notice_create

    consent_notice_create(actor=_actor_for(make_user, "svc-co"), key="privacy", text="We train models.")
    return "consent.notice_create"


def _subject(n: int = 1) -> str:
    from governance.consent.subjects import subject_hash_of

    return subject_hash_of(f"svc-subject-{n}")


def _consent_record(make_user: Any, tmp_path: Path) -> str:
    from django.utils import timezone

    from governance.consent.services.ledger import EventInput, consent_record

    event = EventInput(
        subject_hash=_subject(),
        purpose="train_ai_system",
        kind="grant",
        jurisdiction="eu_eea",
        method="api",
        occurred_at=timezone.now(),
    )
    consent_record(actor=_actor_for(make_user, "svc-pipe"), event=event)
    return "consent.record"


def _consent_import(make_user: Any, tmp_path: Path) -> str:
    import io

    from governance.consent.services.imports import consent_import

    body = "subject_id,purpose,event,jurisdiction,occurred_at\ns-1,analytics,grant,uk,2026-01-01T00:00:00Z\n"
    consent_import(actor=_actor_for(make_user, "svc-pipe"), stream=io.BytesIO(body.encode()))
    return "consent.import"


def _privacy_request(make_user: Any, request_type: str, status: str = "received") -> Any:
    """The request row alone (its create service would also record the impact of an erasure)."""
    from django.utils import timezone

    from governance.consent.models import PrivacyRequest

    return PrivacyRequest.objects.create(
        subject_hash=_subject(),
        type=request_type,
        jurisdiction="eu_eea",
        status=status,
        received_at=timezone.now(),
        respond_by=timezone.now().date(),
        created_by=make_user("svc-requester", "compliance_officer"),
        created_at=timezone.now(),
    )


def _privacy_request_create(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.requests import privacy_request_create

    privacy_request_create(
        actor=_actor_for(make_user, "svc-co"),
        subject_hash=_subject(),
        request_type="access",
        jurisdiction="uk",
    )
    return "privacy_request.create"


def _privacy_request_status_set(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.requests import privacy_request_status_set

    request = _privacy_request(make_user, "access")
    privacy_request_status_set(actor=_actor_for(make_user, "svc-co"), request=request, status="verified")
    return "privacy_request.status"


def _trained_on_subject(make_user: Any) -> Any:
    """A dataset version holding the subject (by hash) and a model version trained on it."""
    from registry.services import catalog, datasets

    actor = _actor_for(make_user, "svc-ds")
    dataset = datasets.dataset_create(
        actor=actor, name="svc-people", holds_personal_data=True, subject_id_column="person"
    )
    datasets.dataset_version_create(
        actor=actor,
        dataset=dataset,
        version="v1",
        uri="s3://b/p.csv",
        sha256="e" * 64,
        subject_hashes=[_subject()],
    )
    run = catalog.run_create(
        actor=actor, inputs=[{"namespace": "default", "name": "svc-people", "version": "v1"}]
    )
    return catalog.model_version_create(
        actor=actor,
        model=_model(make_user),
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
        run=run,
    )


def _privacy_request_impact_compute(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.requests import privacy_request_impact_compute

    _trained_on_subject(make_user)
    request = _privacy_request(make_user, "erasure")
    privacy_request_impact_compute(actor=_actor_for(make_user, "svc-co"), request=request)
    return "privacy_request.impact"


def _privacy_request_erase_rows(make_user: Any, tmp_path: Path) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    from governance.consent.services.erasure import privacy_request_erase_rows
    from registry.services import datasets

    actor = _actor_for(make_user, "svc-ds")
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        dataset = datasets.dataset_create(
            actor=actor, name="svc-people", holds_personal_data=True, subject_id_column="person"
        )
        content = b"person,x\nsvc-subject-1,1\nsvc-subject-2,2\n"
        datasets.dataset_version_upload(
            actor=actor, dataset=dataset, upload=SimpleUploadedFile("p.csv", content)
        )
        request = _privacy_request(make_user, "erasure", status="verified")
        privacy_request_erase_rows(actor=_actor_for(make_user, "svc-co"), request=request)
    return "privacy_request.erase_rows"


def _erasure_exemption_record(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.erasure import erasure_exemption_record

    model_version = _trained_on_subject(make_user)
    request = _privacy_request(make_user, "erasure")
    erasure_exemption_record(
        actor=_actor_for(make_user, "svc-co"),
        request=request,
        model_version=model_version,
        ground="legal_claims",
        reason="litigation hold",
    )
    return "privacy_request.exemption"


def _monitored(make_user: Any) -> Any:
    """A deployment of a version with a reference profile (its set-up writes profile_create)."""
    import pandas as pd

    from governance.monitoring.services import profile_create
    from registry.services import catalog, deployments

    actor = _actor_for(make_user, "svc-ds")
    version = catalog.model_version_create(
        actor=actor,
        model=_model(make_user),
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
        input_schema=[{"name": "x", "type": "number"}, {"name": "kind", "type": "string"}],
    )
    frame = pd.DataFrame({"x": [float(n) for n in range(20)], "kind": ["a", "b"] * 10})
    profile_create(actor=actor, model_version=version, frame=frame, predictions=[0, 1] * 10, classes=[0, 1])
    return deployments.deployment_create(
        actor=actor, model_version=version, environment="staging", endpoint="/p"
    )


def _monitoring_profile_create(make_user: Any, tmp_path: Path) -> str:
    _monitored(make_user)
    return "monitoring.profile_create"


def _monitoring_labels_record(make_user: Any, tmp_path: Path) -> str:
    from governance.monitoring.capture import predictions_log
    from governance.monitoring.services import labels_record

    deployment = _monitored(make_user)
    ids = predictions_log(deployment=deployment, rows=[{"x": 3.0, "kind": "a"}], predictions=[1]) or []
    labels_record(actor=ACTOR, deployment=deployment, labels=[{"prediction_id": ids[0], "label": 1}])
    return "monitoring.labels_record"


def _monitoring_check(make_user: Any, tmp_path: Path) -> str:
    from governance.monitoring.services import drift_check_run

    drift_check_run(deployment=_monitored(make_user), actor=ACTOR)
    return "monitoring.check"


def _monitoring_alarm(make_user: Any, tmp_path: Path) -> str:
    from governance.monitoring.alarms import alarm_raise
    from governance.monitoring.services import drift_check_run

    alarm_raise(check=drift_check_run(deployment=_monitored(make_user), actor=ACTOR))
    return "monitoring.alarm"


def _monitoring_webhook_attempt(make_user: Any, tmp_path: Path) -> str:
    from django.test import override_settings
    from django.utils import timezone

    from governance.monitoring.delivery import webhook_attempt
    from governance.monitoring.models import WebhookDelivery
    from governance.monitoring.services import drift_check_run

    check = drift_check_run(deployment=_monitored(make_user), actor=ACTOR)
    delivery = WebhookDelivery.objects.create(
        drift_check=check,
        url="http://127.0.0.1:9/",
        body="{}",
        signature="sha256=0",
        created_at=timezone.now(),
    )
    with override_settings(MONITORING_WEBHOOK_TIMEOUT_SECONDS=1):
        webhook_attempt(delivery_id=delivery.pk)
    return "monitoring.webhook_attempt"


def _mlflow_version(make_user: Any, tmp_path: Path) -> Any:
    from governance.mlflow_api.services import mlflow_version_create

    source = tmp_path / "model.pkl"
    source.write_bytes(b"model")
    actor = _actor_for(make_user, "svc-mlflow")
    return mlflow_version_create(actor=actor, model=_model(make_user), source=str(source), tags={"a": "1"})


def _mlflow_version_create(make_user: Any, tmp_path: Path) -> str:
    _mlflow_version(make_user, tmp_path)
    return "model_version.create"


def _mlflow_version_update(make_user: Any, tmp_path: Path) -> str:
    from governance.mlflow_api.services import mlflow_version_update

    version = _mlflow_version(make_user, tmp_path)
    mlflow_version_update(
        actor=ACTOR, version=version, set_tags={"b": "2"}, delete_tags=("a",), stage="Archived"
    )
    return "model_version.update"


def _mlflow_refusal_record(make_user: Any, tmp_path: Path) -> str:
    from governance.mlflow_api.services import mlflow_refusal_record

    mlflow_refusal_record(
        actor=ACTOR, endpoint="registered-models/alias", target="model:x#1", reason="governed"
    )
    return "mlflow.refuse"


def _model_artifact_refusal_record(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.model_artifact_refusal_record(
        actor=ACTOR, model=_model(make_user), reason="a pickle", sha256="0" * 64, size=1
    )
    return "model_artifact.refuse"


def _serving_refusal_record(make_user: Any, tmp_path: Path) -> str:
    from governance.jobs.serving import serving_refusal_record
    from registry.services import catalog

    version = catalog.model_version_create(
        actor=_actor_for(make_user, "svc-served"),
        model=_model(make_user),
        artifact_uri="s3://b/m.onnx",
        artifact_sha256="a" * 64,
        artifact_size=1,
    )
    serving_refusal_record(actor=ACTOR, version=version, reason="signature does not verify")
    return "model_artifact.refuse"


def _signing_key_rotate(make_user: Any, tmp_path: Path) -> str:
    from django.test import override_settings

    from registry.signing import signing_key_rotate

    with override_settings(
        MODEL_SIGNING_KEY_FILE=tmp_path / "key.pem", MODEL_SIGNING_KEYRING_DIR=tmp_path / "keys"
    ):
        signing_key_rotate(actor=ACTOR)
    return "model_signing.key_rotate"


def _model_risk_reclassify(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    officer = Actor.for_user(_officer(make_user, "svc-classifier"))
    catalog.model_update(
        actor=officer, model=_model(make_user), changes={"risk_level": "limited"}, reason="internal use"
    )
    return "model.update"


def _model_risk_refusal_record(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.model_risk_refusal_record(actor=ACTOR, model=_model(make_user), wanted="minimal")
    return "model.risk_level_refuse"


def _release_refusal_record(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.services.releases import ReleaseAsk, release_refusal_record
    from governance.core.errors import ValidationFailed

    refusal = ValidationFailed("weaker", code="policy_weaker")
    release_refusal_record(actor=ACTOR, ask=ReleaseAsk(kind="train", model="x"), refusal=refusal)
    return "release.refuse"


def _signer_refuse_excluded(make_user: Any, tmp_path: Path) -> str:
    from governance.approvals.duties import signer_refuse_excluded
    from governance.core.errors import PermissionRefused

    release = _approvals_release(make_user)
    requester = release.requested_by
    requester.groups.add(*_officer(make_user).groups.all())  # now holds a signing role too
    with pytest.raises(PermissionRefused):
        signer = type(requester).objects.get(pk=requester.pk)
        signer_refuse_excluded(actor=ACTOR, release=release, signer=signer)
    return "release.sign_refuse"


# --- Cases generated coverage asks for (issue 15): every AuditAction code has a case or a reason. ---


def _login(make_user: Any, tmp_path: Path) -> str:
    from django.test import Client

    Client().force_login(make_user("svc-login", "auditor"))  # sends user_logged_in, as a sign-in does
    return "auth.login"


def _logout(make_user: Any, tmp_path: Path) -> str:
    from django.test import Client

    client = Client()
    client.force_login(make_user("svc-logout", "auditor"))
    client.logout()
    return "auth.logout"


def _admin_request(make_user: Any) -> Any:
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/")
    request.user = make_user("svc-admin", "admin")
    return request


def _admin_add(make_user: Any, tmp_path: Path) -> str:
    from django.contrib import admin

    from audit.admin_audit import AuditedModelAdmin
    from governance.accounts.models import User

    request = _admin_request(make_user)
    AuditedModelAdmin(User, admin.site).log_addition(request, request.user, [{"added": {}}])
    return "admin.add"


def _admin_change(make_user: Any, tmp_path: Path) -> str:
    from django.contrib import admin

    from audit.admin_audit import AuditedModelAdmin
    from governance.accounts.models import User

    request = _admin_request(make_user)
    message = [{"changed": {"fields": ["full_name"]}}]
    AuditedModelAdmin(User, admin.site).log_change(request, request.user, message)
    return "admin.change"


def _admin_delete(make_user: Any, tmp_path: Path) -> str:
    from django.contrib import admin

    from audit.admin_audit import AuditedModelAdmin
    from governance.accounts.models import User

    request = _admin_request(make_user)
    AuditedModelAdmin(User, admin.site).log_deletions(request, User.objects.filter(pk=request.user.pk))
    return "admin.delete"


def _model_version_archive(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    version = catalog.model_version_create(
        actor=_actor_for(make_user, "svc-ds"),
        model=_model(make_user),
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
    )
    catalog.model_version_archive(actor=ACTOR, version=version)
    return "model_version.archive"


def _dataset_archive(make_user: Any, tmp_path: Path) -> str:
    from registry.services import datasets

    dataset = datasets.dataset_create(actor=_actor_for(make_user, "svc-ds"), name="svc-data")
    datasets.dataset_archive(actor=ACTOR, dataset=dataset)
    return "dataset.archive"


def _model_alias_move(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog
    from registry.services.aliases import alias_move

    actor = _actor_for(make_user, "svc-ds")
    version = catalog.model_version_create(
        actor=actor,
        model=_model(make_user),
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
    )
    alias_move(actor=actor, model_version=version, alias="svc-candidate")
    return "model.alias_move"


def _deployment_stop(make_user: Any, tmp_path: Path) -> str:
    from registry.models import Deployment
    from registry.services import deployments

    _deployment_create(make_user, tmp_path)
    deployments.deployment_end(actor=ACTOR, deployment=Deployment.objects.get(), reason="model misbehaves")
    return "deployment.stop"


def _lineage_event_ingest(make_user: Any, tmp_path: Path) -> str:
    from registry.services.lineage import lineage_event_ingest
    from tests.registry.test_openlineage_spec import run_event

    pipeline = make_user("svc-pipeline", "pipeline")
    lineage_event_ingest(actor=Actor.for_user(pipeline), user=pipeline, event=run_event("COMPLETE"))
    return "lineage.event_ingest"


def _approved_job(make_user: Any) -> Any:
    from governance.jobs.enqueue import job_enqueue

    release = _approvals_release(make_user)
    _sign(make_user, release)
    return job_enqueue(actor=ACTOR, release=release, by=release.requested_by)


def _job_enqueue(make_user: Any, tmp_path: Path) -> str:
    _approved_job(make_user)
    return "job.enqueue"


def _job_start(make_user: Any, tmp_path: Path) -> str:
    from governance.jobs.services import job_start

    job_start(actor=Actor.worker("tests"), job_id=_approved_job(make_user).pk, worker="tests")
    return "job.start"


def _job_refuse(make_user: Any, tmp_path: Path) -> str:
    from governance.jobs.services import job_refuse

    job_refuse(actor=Actor.worker("tests"), reason="the grant's signature does not verify", check="grant")
    return "job.refuse"


def _job_complete(make_user: Any, tmp_path: Path) -> str:
    from django.db import transaction

    from governance.jobs.services import job_complete_in_transaction, job_start

    job = job_start(actor=Actor.worker("tests"), job_id=_approved_job(make_user).pk, worker="tests")
    with transaction.atomic():
        job_complete_in_transaction(actor=Actor.worker("tests"), job=job, result={"ok": True})
    return "job.complete"


def _job_fail(make_user: Any, tmp_path: Path) -> str:
    from governance.jobs.services import job_fail, job_start

    job_id = _approved_job(make_user).pk
    job_start(actor=Actor.worker("tests"), job_id=job_id, worker="tests")
    job_fail(actor=Actor.worker("tests"), job_id=job_id, reason="out of memory")
    return "job.fail"


def _consent_state_read(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.reads import consent_state_read

    consent_state_read(actor=_actor_for(make_user, "svc-pipe"), subject_hash=_subject(), purpose="analytics")
    return "consent.read"


def _consent_history_read(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.reads import consent_history_read

    consent_history_read(actor=_actor_for(make_user, "svc-co"), subject_hash=_subject())
    return "consent.read"


def _subject_lookup(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.reads import subject_lookup

    _privacy_request(make_user, "access")  # so that the subject is found (a miss records nothing)
    found = subject_lookup(actor=_actor_for(make_user, "svc-co"), subject_hash=_subject())
    assert found is not None
    return "subject.lookup"


def _privacy_request_read(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.reads import privacy_request_read

    request = _privacy_request(make_user, "access")
    privacy_request_read(actor=_actor_for(make_user, "svc-auditor"), pk=request.pk, via="api")
    return "privacy_request.read"


def _privacy_request_list_read(make_user: Any, tmp_path: Path) -> str:
    from governance.consent.services.reads import privacy_request_list_read

    request = _privacy_request(make_user, "access")
    privacy_request_list_read(
        actor=_actor_for(make_user, "svc-auditor"), shown=[request.pk], filters={"status": "open"}, via="page"
    )
    return "privacy_request.read"


def _audit_entry_read(make_user: Any, tmp_path: Path) -> str:
    from audit.reads import audit_entry_read

    audit_entry_read(actor=_actor_for(make_user, "svc-auditor"), index=0, via="page")
    return "audit.read"


def _audit_entries_read(make_user: Any, tmp_path: Path) -> str:
    from audit.reads import audit_entries_read

    audit_entries_read(actor=_actor_for(make_user, "svc-auditor"), indices=[0, 1], filters={}, via="api")
    return "audit.read"


# Codes no service in this walk writes, each with the reason and where its entry is asserted instead.
NOT_SERVICES: dict[str, str] = {
    "audit.key_rotate": "written by the checkpointer when the signing key changed, not by a request; "
    "tests/audit/test_keys_and_checkpoints.py",
    "audit.verify_failed": "written only when the live log fails verification (tampering); "
    "tests/audit/test_tamper_drills.py",
    "lineage.report_export": "the export commits its entry and signs a checkpoint over it, outside this "
    "walk's transaction; tests/registry/test_lineage_report.py",
    "report.technical_documentation": "the export commits its entry and signs a checkpoint over it, "
    "outside this walk's transaction; tests/documentation/test_technical_documentation.py",
    "user.password_change": "reserved: no service writes it yet (codes are never reused)",
    "dataset_version.archive": "reserved: no service writes it yet (codes are never reused)",
    "run.update": "reserved: no service writes it yet (codes are never reused)",
    "mlflow.read": "retired (issue 18): reads of registry metadata are access-log lines, not audit "
    "entries; entries written before keep the code; tests/mlflow_api/test_apis.py",
}


SERVICES: list[Callable[[Any, Path], str]] = [
    _model_risk_reclassify,
    _model_risk_refusal_record,
    _release_refusal_record,
    _signer_refuse_excluded,
    _model_create,
    _model_update,
    _model_archive,
    _model_version_create,
    _dataset_create,
    _dataset_declarations_update,
    _dataset_version_create,
    _run_create,
    _deployment_create,
    _deployment_end,
    _user_create,
    _user_set_roles,
    _token_issue,
    _token_revoke,
    _user_unlock,
    _login_failure_count,
    _login_lockout_record,
    _audit_export,
    _policy_create,
    _policy_version_create,
    _release_create,
    _release_withdraw,
    _release_sign,
    _signing_failure_record,
    _signing_lock,
    _signature_revoke,
    _grant_issue,
    _grant_claim,
    _release_checks_rerun,
    _consent_notice_create,
    _consent_record,
    _consent_import,
    _privacy_request_create,
    _privacy_request_status_set,
    _privacy_request_impact_compute,
    _privacy_request_erase_rows,
    _erasure_exemption_record,
    _monitoring_profile_create,
    _monitoring_labels_record,
    _monitoring_check,
    _monitoring_alarm,
    _monitoring_webhook_attempt,
    _mlflow_version_create,
    _mlflow_version_update,
    _mlflow_refusal_record,
    _model_artifact_refusal_record,
    _serving_refusal_record,
    _signing_key_rotate,
    _login,
    _logout,
    _admin_add,
    _admin_change,
    _admin_delete,
    _model_version_archive,
    _dataset_archive,
    _model_alias_move,
    _deployment_stop,
    _lineage_event_ingest,
    _job_enqueue,
    _job_start,
    _job_refuse,
    _job_complete,
    _job_fail,
    _consent_state_read,
    _consent_history_read,
    _subject_lookup,
    _privacy_request_read,
    _privacy_request_list_read,
    _audit_entry_read,
    _audit_entries_read,
]


@pytest.mark.parametrize("call", SERVICES, ids=lambda call: call.__name__.strip("_"))
def test_the_service_writes_exactly_one_entry_for_its_action(
    call: Callable[[Any, Path], str], make_user, tmp_path
) -> None:
    make_user("svc-warmup", "pipeline")
    before = AuditEntry.objects.count()

    action = call(make_user, tmp_path)

    new = list(AuditEntry.objects.filter(index__gte=before).values_list("action", flat=True))
    assert new.count(action) == 1
    # Set-up steps write their own entries; the service under test writes exactly one of its own.
    setup = {
        "user.create",
        "token.issue",
        "model.create",
        "model_version.create",
        "dataset.create",
        "dataset_version.create",  # also the new version an erasure of rows writes
        "run.create",
        "deployment.create",
        "policy.create",
        "release.create",
        "release.sign",
        "grant.issue",
        "monitoring.profile_create",
        "monitoring.check",
        "job.enqueue",
        "job.start",
        "auth.login",
    }
    assert set(new) - setup <= {action}


def _case_action(call: Callable[[Any, Path], str]) -> str:
    """The code a case returns, read from its source (each case ends ``return "<code>"``)."""
    returns = [
        node.value.value
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(call))))
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
    ]
    assert len(set(returns)) == 1, f"{call.__name__} must return one action code"
    return str(returns[0])


@pytest.mark.parametrize("action", [action.value for action in AuditAction])
def test_every_action_code_has_a_case_or_says_why_not(action: str) -> None:
    covered = {_case_action(call) for call in SERVICES}
    assert (action in covered) != (action in NOT_SERVICES), (
        f"{action}: add a case to SERVICES for the service that writes it"
        if action not in NOT_SERVICES
        else f"{action}: has a case; drop it from NOT_SERVICES"
    )
