"""The data quality profile of a dataset version (issue 20, EU AI Act Art. 10(2)(f)-(g) and 10(3)).

Computed from the file when the version is stored (``registry.quality``), kept as canonical JSON with
its SHA-256, so a release request pins the profile it was judged on as it pins the data itself.
Imported at the end of ``registry.models``.
"""

from __future__ import annotations

from django.db import models


class QualityProfile(models.Model):
    version = models.OneToOneField(
        "registry.DatasetVersion", on_delete=models.PROTECT, related_name="quality_profile"
    )
    profile = models.JSONField()
    sha256 = models.CharField(max_length=64)  # of the profile's canonical JSON (audit.jcs)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="quality_profile_sha256_hex"
            )
        ]

    def __str__(self) -> str:
        return f"quality profile of {self.version_id}"
