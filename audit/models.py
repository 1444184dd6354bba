"""The audit log's tables. Entries and tree nodes are append-only: the model refuses updates and deletes,
and database triggers (migration 0002) refuse them in SQL too, so only a rogue DBA who drops the
triggers can change a row, and verification against the signed checkpoints then names the index.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models


class AppendOnlyError(Exception):
    """An attempt to change or remove something the audit log has recorded."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit rows are append-only; they are never updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit rows are append-only; they are never deleted")


class AppendOnlyModel(models.Model):
    objects: ClassVar[Any] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only; they are never updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only; they are never deleted")


class AuditEntry(AppendOnlyModel):
    """One audit entry. ``entry`` holds the exact bytes (RFC 8785 canonical JSON) that are hashed into
    the Merkle tree; the other columns are copies of its fields, kept for filtering.
    """

    index = models.BigIntegerField(primary_key=True)
    timestamp = models.DateTimeField(db_index=True)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=700)
    request_id = models.CharField(max_length=64, blank=True, default="")
    entry = models.TextField()

    class Meta:
        ordering = ["index"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["actor_type", "actor_id"], name="audit_entry_actor"),
            models.Index(fields=["action", "index"], name="audit_entry_action"),
            models.Index(fields=["target_type", "target_id"], name="audit_entry_target"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(index__gte=0), name="audit_entry_index_gte_0")
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.action} {self.target_type}:{self.target_id}"


class AuditNode(AppendOnlyModel):
    """A perfect subtree hash of the Merkle tree (RFC 9162 §2.1.1): ``key = level << 48 | index``.

    Keeping every complete subtree means an append adds O(log n) nodes and a proof reads O(log n) rows;
    nothing is ever rehashed.
    """

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    LEVEL_SHIFT: ClassVar[int] = 48

    def __str__(self) -> str:
        return f"node {self.key >> self.LEVEL_SHIFT}/{self.key & ((1 << self.LEVEL_SHIFT) - 1)}"

    @classmethod
    def key_for(cls, level: int, index: int) -> int:
        return (level << cls.LEVEL_SHIFT) | index


class AuditPending(models.Model):
    """An action committed with its change and not yet integrated into the log (see services).

    ``fields`` is the canonical JSON of the entry's fields other than ``v``, ``index`` and ``prev``.
    A row lives here for milliseconds; a writer that crashed after its commit leaves rows that the next
    writer, or the periodic checkpoint task, integrates.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    fields = models.TextField()

    def __str__(self) -> str:
        return f"pending audit action {self.id}"


class AuditHead(models.Model):
    """The single sequencer row. Appenders lock it (SELECT ... FOR UPDATE), so entries are gapless and
    ordered; it carries the tree size, the hash of the last entry and the compact range (the right-edge
    subtree hashes) so that an append reads nothing else.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    compact_range = models.BinaryField(default=b"")
    updated_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit head at size {self.size}"
