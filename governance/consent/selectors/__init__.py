"""Reading consent and data-subject rights. The training job (issue 6) and the approval checks call
the four functions named first; the modules hold the rest.

- ``eligibility_manifest(*, dataset_version, purpose, at=None, source=None) -> EligibilityManifest``
- ``eligible_rows(*, dataset_version, purpose, at=None, source=None)``
  ``-> tuple[DataFrame, EligibilityManifest]``
  (``source``: a local copy of the stored file, its bytes checked against the version's SHA-256)
- ``erasure_block_reason(*, model_version) -> str | None``
- ``erasure_affected_nodes(*, dataset_version_ids=(), model_version_ids=()) -> list[str]``
"""

from __future__ import annotations

from governance.consent.eligibility import EligibilityManifest
from governance.consent.selectors.eligibility import eligibility_manifest, eligible_rows
from governance.consent.selectors.erasure import erasure_affected_nodes, erasure_block_reason

__all__ = [
    "EligibilityManifest",
    "eligibility_manifest",
    "eligible_rows",
    "erasure_affected_nodes",
    "erasure_block_reason",
]
