"""Separation of duties over the whole evidence: who may not sign a release request, and why.

Nobody approves their own work: not the requester, nor anyone who created what the request pins or
rests on (the model version, the run that trained it, the dataset versions it was trained on or is to
be trained on, the runs that produced those). A policy's ``signer_exclusions`` may bar more people
(``model_owner``, ``human_overseer``). Holding a second role does not lift an exclusion.
"""

from __future__ import annotations

from collections.abc import Iterable

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.approvals.models import ReleaseRequest
from governance.core.errors import PermissionRefused
from governance.core.permissions import user_roles
from registry.models import DatasetVersion, RegisteredModel, TrainingRun

OWN_REQUEST = "own_request"
EXCLUDED_SIGNER = "excluded_signer"


def _runs_of(versions: Iterable[DatasetVersion]) -> list[TrainingRun]:
    return list(TrainingRun.objects.filter(outputs__in=list(versions)).distinct().order_by("pk"))


def signer_exclusions(release: ReleaseRequest) -> dict[int, str]:
    """Each person who may not sign ``release`` (user id) and why, in words that follow a name."""
    reasons: dict[int, list[str]] = {}

    def exclude(user_id: int | None, reason: str) -> None:
        if user_id is not None and reason not in reasons.setdefault(user_id, []):
            reasons[user_id].append(reason)

    exclude(release.requested_by_id, "made this request")
    version = release.model_version
    datasets: list[DatasetVersion] = [row.dataset_version for row in release.datasets.all()]
    if version is not None:
        exclude(version.created_by_id, f"registered {version.node_id}, the model version to deploy")
        if version.run is not None:
            exclude(version.run.started_by_id, f"started {version.run.node_id}, which trained it")
            datasets = list(version.run.inputs.select_related("dataset"))
    for dataset_version in datasets:
        exclude(dataset_version.created_by_id, f"created {dataset_version.node_id}, which it rests on")
    for run in _runs_of(datasets):
        exclude(run.started_by_id, f"started {run.node_id}, which produced its data")
    extra = set(release.policy_version.signer_exclusions)
    if "model_owner" in extra:
        owner = RegisteredModel.objects.filter(name=release.model_name).values_list("owner_id", flat=True)
        for owner_id in owner:
            exclude(
                owner_id, f"owns model {release.model_name} (policy {release.policy_version} bars owners)"
            )
    if "human_overseer" in extra:
        exclude(
            release.human_overseer_id,
            f"is the named human overseer (policy {release.policy_version} bars the overseer)",
        )
    return {user_id: "; ".join(why) for user_id, why in reasons.items()}


def signer_check(release: ReleaseRequest, signer: User) -> None:
    """Refuse (403) a signature by anyone :func:`signer_exclusions` names, saying why."""
    reason = signer_exclusions(release).get(signer.pk)
    if reason is None:
        return
    code = OWN_REQUEST if signer.pk == release.requested_by_id else EXCLUDED_SIGNER
    raise PermissionRefused(
        f"you may not sign this request (separation of duties): you {second_person(reason)}",
        code=code,
    )


def second_person(reason: str) -> str:
    return reason.replace("owns model", "own model", 1).replace("is the named", "are the named", 1)


def signers_excluded(release: ReleaseRequest) -> list[dict[str, str]]:
    """For the release page: the printed name of each person who may not sign, and why."""
    reasons = signer_exclusions(release)
    people = User.objects.filter(pk__in=reasons).order_by("username")
    return [
        {
            "name": person.full_name or person.username,
            "username": person.username,
            "reason": reasons[person.pk],
        }
        for person in people
    ]


def signer_refuse_excluded(*, actor: Actor, release: ReleaseRequest, signer: User) -> None:
    """:func:`signer_check`, with the refusal audited (its own transaction: the signing fails). Someone
    holding none of the policy's roles is refused for that instead, when the signature is added."""
    named = {requirement["role"] for requirement in release.policy_version.required_approvals}
    if not user_roles(signer) & named:
        return
    try:
        signer_check(release, signer)
    except PermissionRefused as exc:
        _sign_refusal_record(actor=actor, release=release, signer=signer, code=exc.code, reason=exc.detail)
        raise


def _sign_refusal_record(
    *, actor: Actor, release: ReleaseRequest, signer: User, code: str, reason: str
) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_SIGN_REFUSE,
        target=Target.of("release", release.pk),
        data={"signer": str(signer.pk), "code": code, "reason": reason},
    )
