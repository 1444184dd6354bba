"""A data subject's external id becomes its keyed hash the moment it arrives.

The hash is the one dataset versions record (``registry.services.dataset_files``: the id as text,
stripped, HMAC-SHA256 in the ``"subject"`` domain), so a consent event and a dataset row of the same
person meet. Messages here never repeat the id.
"""

from __future__ import annotations

import re
from typing import Final

from governance.core.errors import ValidationFailed
from governance.core.pseudonyms import keyed_hash

SUBJECT_DOMAIN: Final = "subject"
MAX_SUBJECT_ID: Final = 500
SUBJECT_HASH: Final = re.compile(r"^[0-9a-f]{64}$")


def subject_id_problem(raw: object) -> str | None:
    """What is wrong with a raw subject id (never quoting it), or ``None``."""
    if not isinstance(raw, str) or not raw.strip():
        return "subject_id is empty; send the person's id in your systems (it is hashed at once)"
    if len(raw.strip()) > MAX_SUBJECT_ID:
        return f"subject_id is longer than {MAX_SUBJECT_ID} characters"
    return None


def subject_hash_of(raw: object) -> str:
    """The keyed hash of a raw subject id; raises ``ValidationFailed`` (without the id) if unusable."""
    problem = subject_id_problem(raw)
    if problem or not isinstance(raw, str):
        raise ValidationFailed(problem or "subject_id must be text")
    return keyed_hash(raw.strip(), domain=SUBJECT_DOMAIN)
