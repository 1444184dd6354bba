"""Release approvals: policies, release requests, e-signatures, grants and signing lock-outs.

Nothing here is deleted or edited in place: a policy changes by a new version, a signature is revoked
(``revoked_at``), a grant is used once (``used_at``) or revoked. Every write goes through
``governance.approvals.services``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.approvals.rules import PolicySpec


class ReleaseKind(models.TextChoices):
    TRAIN = "train"
    DEPLOY = "deploy"


class ReleaseStatus(models.TextChoices):
    """Stored states. ``expired`` is derived from time (an approved request past ``expires_at``);
    ``consumed`` is set when a worker claims the grant, and the job itself is tracked by the job runner."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CONSUMED = "consumed"


EXPIRED = "expired"  # the derived status
OPEN_STATUSES = (ReleaseStatus.PENDING, ReleaseStatus.APPROVED)


class Meaning(models.TextChoices):
    """The meaning of an e-signature (21 CFR 11.50(a)(3))."""

    APPROVED = "approved"
    REJECTED = "rejected"
    REVIEWED = "reviewed"


class Policy(models.Model):
    """A named release policy; its content lives in immutable :class:`PolicyVersion` rows."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """One version of a policy, never changed: a request stays judged by the version it was made under.

    The latest version is the one new requests use; ``active=False`` in the latest version retires it.
    """

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=ReleaseKind.choices)
    environment = models.CharField(max_length=100, default="*")
    risk_levels = models.JSONField(default=list)
    checks = models.JSONField(default=list)
    required_approvals = models.JSONField(default=list)
    approval_validity_seconds = models.PositiveIntegerField()
    monitoring = models.JSONField(default=dict, blank=True)  # drift thresholds (rules.MONITORING_KEYS)
    signer_exclusions = models.JSONField(default=list, blank=True)  # rules.SIGNER_EXCLUSIONS, beyond duties
    active = models.BooleanField(default=True)
    change_note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["policy", "version"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "version"], name="policy_version_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=ReleaseKind.values), name="policy_version_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(approval_validity_seconds__gte=60), name="policy_version_validity_min"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy.name} v{self.version}"

    def spec(self) -> PolicySpec:
        return {
            "kind": self.kind,
            "environment": self.environment,
            "risk_levels": list(self.risk_levels),
            "checks": list(self.checks),
            "required_approvals": list(self.required_approvals),
            "approval_validity_seconds": self.approval_validity_seconds,
            "monitoring": dict(self.monitoring),
            "signer_exclusions": list(self.signer_exclusions),
        }


class ReleaseRequest(models.Model):
    """A request to train or deploy, pinned to the SHA-256 of everything it covers.

    ``request_hash`` is SHA-256 over the canonical JSON of ``hashing.release_document`` (what is asked,
    the pinned digests and the policy version); signatures commit to it.
    """

    kind = models.CharField(max_length=16, choices=ReleaseKind.choices)
    status = models.CharField(max_length=16, choices=ReleaseStatus.choices, default=ReleaseStatus.PENDING)
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=100, blank=True)
    risk_level = models.CharField(max_length=16)
    # The compliance officer's reclassification the risk level starts from (its reason is shown with the
    # request); without one, the level is the highest ever recorded for the model (approvals.risk).
    risk_classification = models.ForeignKey(
        "registry.RiskClassification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    model_name = models.CharField(max_length=200)
    model_version = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    model_sha256 = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=200, blank=True)
    metric_thresholds = models.JSONField(default=dict, blank=True)
    dpia_reference = models.CharField(max_length=200, blank=True)
    human_overseer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    justification = models.TextField(blank=True)
    request_hash = models.CharField(max_length=64)
    checks = models.JSONField(default=list)
    checks_passed = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # set while approved: the grant's expiry
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="release_status_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ReleaseStatus.values), name="release_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ReleaseKind.values), name="release_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(request_hash__regex=r"^[0-9a-f]{64}$"), name="release_hash_hex"
            ),
            models.CheckConstraint(
                condition=models.Q(kind=ReleaseKind.TRAIN) | models.Q(model_version__isnull=False),
                name="release_deploy_names_a_model_version",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ReleaseStatus.APPROVED) | models.Q(expires_at__isnull=False),
                name="release_approved_has_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"release {self.pk} ({self.kind} {self.model_name})"

    def effective_status(self, now: datetime | None = None) -> str:
        if (
            self.status == ReleaseStatus.APPROVED
            and self.expires_at
            and self.expires_at <= (now or timezone.now())
        ):
            return EXPIRED
        return str(self.status)

    @property
    def model_node_id(self) -> str:
        if self.model_version_id is None:
            return ""
        return f"model:{self.model_name}#{self.model_version.version}"  # type: ignore[union-attr]


class ReleaseDataset(models.Model):
    """A dataset version a training request covers, with the SHA-256 pinned at request time."""

    release = models.ForeignKey(ReleaseRequest, on_delete=models.PROTECT, related_name="datasets")
    dataset_version = models.ForeignKey("registry.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    node_id = models.CharField(max_length=700)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["node_id"]
        constraints = [
            models.UniqueConstraint(fields=["release", "dataset_version"], name="release_dataset_unique")
        ]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.sha256[:12]})"


class Signature(models.Model):
    """An electronic signature on a release request (21 CFR Part 11).

    Shows the printed name, UTC date and time and meaning (§11.50); ``signed_hash`` commits to the
    request's hash, id, signer, meaning and time (§11.70); made with the password entered again
    (§11.200(a)). One person has at most one live signature per request.
    """

    release = models.ForeignKey(ReleaseRequest, on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=16, choices=Meaning.choices)
    comment = models.TextField(blank=True)
    roles = models.JSONField(default=list)  # the signer's policy-named roles when signing
    via = models.CharField(max_length=16)  # "session" or "token"
    signed_at = models.DateTimeField()
    signed_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)  # approvals only
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["signed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "signer"],
                condition=models.Q(revoked_at__isnull=True),
                name="signature_one_live_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(meaning__in=Meaning.values), name="signature_meaning_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(meaning=Meaning.APPROVED) | models.Q(expires_at__isnull=False),
                name="signature_approval_expires",
            ),
        ]

    def __str__(self) -> str:
        return self.manifestation

    @property
    def manifestation(self) -> str:
        """How the signature reads wherever it is shown (§11.50(a)): name, meaning, UTC date and time."""
        return f"{self.printed_name} · {self.meaning} · {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"

    def counts_at(self, now: datetime) -> bool:
        """Whether this approval counts towards the quorum at ``now``."""
        return (
            self.meaning == Meaning.APPROVED
            and self.revoked_at is None
            and self.expires_at is not None
            and self.expires_at > now
        )


class Grant(models.Model):
    """The signed permission to run one approved request once (``grants.GrantClaims`` in ``token``).

    Claimed by a conditional UPDATE of ``used_at``; revoked with its approval or its request.
    """

    grant_id = models.UUIDField(unique=True)
    release = models.ForeignKey(ReleaseRequest, on_delete=models.PROTECT, related_name="grants")
    token = models.TextField()
    key_id = models.CharField(max_length=32)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.CharField(max_length=200, blank=True)
    job_reference = models.CharField(max_length=100, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["release"],
                condition=models.Q(revoked_at__isnull=True),
                name="grant_one_live_per_release",
            ),
            models.CheckConstraint(
                condition=models.Q(used_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="grant_used_or_revoked_not_both",
            ),
        ]

    def __str__(self) -> str:
        return f"grant {self.grant_id} for release {self.release_id}"

    def unusable_reason(self, now: datetime | None = None) -> str | None:
        """Why this grant cannot be claimed now, or None when it can."""
        if self.revoked_at is not None:
            return f"grant {self.grant_id} was revoked ({self.revoke_reason})"
        if self.used_at is not None:
            return (
                f"grant {self.grant_id} was used at {self.used_at:%Y-%m-%d %H:%M:%S} UTC; a grant runs once"
            )
        if self.expires_at <= (now or timezone.now()):
            return f"grant {self.grant_id} expired at {self.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        return None


class SigningFailure(models.Model):
    """A signing attempt with a wrong password (counted for the lock-out, 21 CFR 11.300(d))."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    release = models.ForeignKey(ReleaseRequest, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "at"], name="signing_failure_user_time")]

    def __str__(self) -> str:
        return f"failed signing by user {self.user_id} at {self.at:%Y-%m-%d %H:%M:%S} UTC"


class SigningLock(models.Model):
    """Signing is locked for ``user`` until ``locked_until`` after repeated failed attempts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField()
    locked_until = models.DateTimeField()
    failures = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["user", "locked_until"], name="signing_lock_user_until")]

    def __str__(self) -> str:
        return f"signing locked for user {self.user_id} until {self.locked_until:%Y-%m-%d %H:%M:%S} UTC"
