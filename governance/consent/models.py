"""Consent and data-subject rights: notices, the consent ledger and its materialised state, privacy
requests (GDPR Arts. 15-21, CCPA §§1798.100-125) with their impact, erasures and exemptions.

Data subjects are known only by the keyed hash of their external id (``governance.core.pseudonyms``, domain
``"subject"``), the very hash dataset versions record in ``registry.DatasetSubject``; the raw id is
hashed the moment a request arrives and is never stored.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from registry.models import DatasetVersion, Deployment, Jurisdiction, ModelVersion

HASH_CHECK = models.Q(subject_hash__regex=r"^[0-9a-f]{64}$")
# The ledger and its states take millions of rows per import: a regular expression checked per row
# cost more than a third of the import's time on PostgreSQL; the length alone costs nothing and still
# refuses anything but a digest's size (every hash is made by ``governance.consent.subjects``).
HASH_LENGTH = Exact(Length("subject_hash"), 64)


class EventKind(models.TextChoices):
    GRANT = "grant"  # consent given, or another lawful basis recorded for the purpose (GDPR Art. 6(1))
    WITHDRAW = "withdraw"  # GDPR Art. 7(3)
    OPT_OUT = "opt_out"  # CCPA §1798.120: opt-out of sale or sharing
    LIMIT_SENSITIVE = "limit_sensitive"  # CPRA §1798.121: limit the use of sensitive personal information
    OBJECT = "object"  # GDPR Art. 21


class LawfulBasis(models.TextChoices):
    """GDPR Art. 6(1)(a)-(f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class Method(models.TextChoices):
    FORM = "form"
    API = "api"
    IMPORT = "import"
    GPC = "gpc"  # the Global Privacy Control header, Sec-GPC: 1 (Cal. Code Regs. tit. 11, §7025)


class ConsentNotice(models.Model):
    """A versioned notice text (what the person was shown); ``sha256`` commits to the exact text."""

    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=35, default="en")
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["key", "version"]
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="consent_notice_unique")]

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"


class ConsentImport(models.Model):
    """One imported CSV file: all its events or none of them."""

    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    events = models.BigIntegerField()
    subjects = models.BigIntegerField()
    counts = models.JSONField(default=dict)  # events by kind and by purpose
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"import {self.pk} ({self.events} events)"


class LedgerQuerySet(models.QuerySet["ConsentEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise LedgerAppendOnly("consent events are append-only; record a new event instead")

    def delete(self) -> NoReturn:
        raise LedgerAppendOnly("consent events are append-only; record a new event instead")


class LedgerAppendOnly(Exception):
    """An attempt to change or remove a recorded consent event (GDPR Art. 7(1): consent must stay
    demonstrable, so a withdrawal is a new event, never an edit)."""


class ConsentEvent(models.Model):
    """One entry of the consent ledger. Append-only here and, below Django, by triggers (0002).

    ``occurred_at`` is when the person made the choice (a paper form may be recorded days later);
    ``as_of`` answers and the ordering of events use it, ties broken by ``id``.
    """

    subject_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=200)  # a fideslang data use, e.g. "train_ai_system"
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices, blank=True)
    jurisdiction = models.CharField(max_length=16, choices=Jurisdiction.choices)
    method = models.CharField(max_length=8, choices=Method.choices)
    source = models.CharField(max_length=200, blank=True)  # e.g. "onetrust", "paper form"
    notice = models.ForeignKey(
        ConsentNotice, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    # Fewer indexes make the import's COPY faster; events are found by subject, never by these.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    import_batch = models.ForeignKey(
        ConsentImport, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    objects: ClassVar[Any] = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["subject_hash", "purpose"], name="consent_event_subject")]
        constraints = [models.CheckConstraint(condition=HASH_LENGTH, name="consent_event_hash_length")]

    def __str__(self) -> str:
        return f"{self.kind} {self.purpose} {self.subject_hash[:12]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerAppendOnly("consent events are append-only; record a new event instead")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerAppendOnly("consent events are append-only; record a new event instead")


class ConsentState(models.Model):
    """The current state per (subject, purpose), folded from the ledger and kept in the same
    transaction as each event. Each dimension keeps its newest event's (time, id), so merging is
    order-independent: an event recorded late (a paper form) lands where it belongs.
    See ``governance.consent.eligibility.PurposeState`` for the rules; this row is its stored form.
    """

    subject_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=200)
    choice = models.CharField(max_length=16, blank=True)  # newest of grant, withdraw, opt_out, object
    lawful_basis = models.CharField(max_length=24, blank=True)
    jurisdiction = models.CharField(max_length=16, blank=True)
    choice_at = models.DateTimeField(null=True)
    choice_event = models.BigIntegerField(null=True)
    grant_at = models.DateTimeField(null=True)
    grant_event = models.BigIntegerField(null=True)
    limit_at = models.DateTimeField(null=True)
    limit_event = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject_hash", "purpose"], name="consent_state_unique"),
            models.CheckConstraint(condition=HASH_LENGTH, name="consent_state_hash_length"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.subject_hash[:12]}: {self.choice or '-'}"


# The state's columns in one order, for the raw upserts that write them and the reads that fold them.
STATE_COLUMNS = tuple(field.attname for field in ConsentState._meta.concrete_fields if not field.primary_key)


class RequestType(models.TextChoices):
    ERASURE = "erasure"  # GDPR Art. 17
    DELETION = "deletion"  # CCPA §1798.105
    ACCESS = "access"  # GDPR Art. 15, CCPA §1798.110
    OBJECTION = "objection"  # GDPR Art. 21


ERASING_TYPES = frozenset({RequestType.ERASURE, RequestType.DELETION})


class RequestStatus(models.TextChoices):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DENIED = "denied"


OPEN_STATUSES = frozenset({RequestStatus.RECEIVED, RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS})
# A pending or done erasure keeps the subject out of training data; only a denied one does not.
BINDING_STATUSES = frozenset({*OPEN_STATUSES, RequestStatus.COMPLETED})


class PrivacyRequest(models.Model):
    """A data subject's request, by keyed hash, with its legal deadlines and who handled it."""

    subject_hash = models.CharField(max_length=64, db_index=True)
    type = models.CharField(max_length=16, choices=RequestType.choices)
    jurisdiction = models.CharField(max_length=16, choices=Jurisdiction.choices)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.RECEIVED)
    purposes = models.JSONField(default=list, blank=True)  # for an objection: the data uses objected to
    received_at = models.DateTimeField()
    acknowledge_by = models.DateField(null=True, blank=True)  # CCPA only
    respond_by = models.DateField()
    verified_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    denied_at = models.DateTimeField(null=True, blank=True)
    denial_reason = models.TextField(blank=True)
    impact_computed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["respond_by", "id"]
        constraints = [
            models.CheckConstraint(condition=HASH_CHECK, name="privacy_request_hash_hex"),
            models.CheckConstraint(
                condition=~models.Q(status=RequestStatus.DENIED) | ~models.Q(denial_reason=""),
                name="privacy_request_denial_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"privacy request {self.pk} ({self.type}, {self.status})"


class AffectedKind(models.TextChoices):
    DATASET_VERSION = "dataset_version"
    RUN = "run"
    MODEL_VERSION = "model_version"
    DEPLOYMENT = "deployment"


class AffectedNode(models.Model):
    """A lineage node an erasure or deletion request affects: a dataset version holding the subject,
    or a run, model version or deployment downstream of one."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.PROTECT, related_name="affected")
    kind = models.CharField(max_length=16, choices=AffectedKind.choices)
    node_id = models.CharField(max_length=700)
    dataset_version = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deployment = models.ForeignKey(
        Deployment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "node_id"]
        constraints = [models.UniqueConstraint(fields=["request", "node_id"], name="affected_node_unique")]

    def __str__(self) -> str:
        return f"{self.node_id} (request {self.request_id})"


class RowErasure(models.Model):
    """A stored dataset file rewritten without the subject's rows: the new version replaces the old."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.PROTECT, related_name="row_erasures")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="+")
    # None when the dataset is archived (it takes no new version): the file is still erased.
    replacement = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rows_removed = models.BigIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "dataset_version"], name="row_erasure_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset_version_id} -> {self.replacement_id}"


class ExemptionGround(models.TextChoices):
    """Why erasure does not reach a model: GDPR Art. 17(3)(a)-(e), CCPA §1798.105(d)."""

    EXPRESSION = "freedom_of_expression"  # Art. 17(3)(a)
    LEGAL_OBLIGATION = "legal_obligation"  # Art. 17(3)(b); CCPA §1798.105(d)(8)
    PUBLIC_HEALTH = "public_health"  # Art. 17(3)(c)
    RESEARCH = "archiving_research_statistics"  # Art. 17(3)(d); CCPA §1798.105(d)(6)
    LEGAL_CLAIMS = "legal_claims"  # Art. 17(3)(e)
    OTHER = "other"


class ErasureExemption(models.Model):
    """A compliance officer's decision that a model version may still be deployed despite a request."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.PROTECT, related_name="exemptions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    ground = models.CharField(max_length=40, choices=ExemptionGround.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "model_version"], name="erasure_exemption_unique")
        ]

    def __str__(self) -> str:
        return f"exemption for {self.model_version_id} (request {self.request_id})"
