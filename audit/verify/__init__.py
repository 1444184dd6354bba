"""Offline verification of the audit log, and the audit bundle format.

Run ``python -m audit.verify BUNDLE --key VKEY`` on an exported bundle: a zip, or the same unzipped into a
folder (both are read alike). Only the standard library, ``cryptography`` and the Django-free modules
:mod:`audit.merkle`, :mod:`audit.checkpoint` and :mod:`audit.jcs` are imported, so an auditor needs
nothing of the service.

:func:`verify_log` is the reusable core; the service calls it on entries streamed from its database.
Evidence is weighed strongest first, and a failure names the first index it can prove wrong:

a. checkpoints (C2SP signed notes) count only when a trusted key signed them;
b. the leaf-hash record kept outside the database is authenticated against those checkpoints (RFC 9162
   §2.1.1 roots) and then pins any changed entry to its exact index;
c. each entry is canonical JSON with a gapless ``index`` and a ``prev`` hash chain;
d. the RFC 9162 root recomputed over all entries must equal every trusted checkpoint (a full bundle),
   or e. every entry carries an RFC 9162 §2.1.3 inclusion proof (a partial bundle);
f. every other file of a partial bundle (a report's renderings) must be one its export entry attests,
   with that SHA-256, and every file that entry attests must be there.

Modules: :mod:`~audit.verify.evidence` (checkpoints, record, proofs: a and b), :mod:`~audit.verify.log`
(the walk over the entries: c to e, :func:`verify_log`), :mod:`~audit.verify.bundle` (the bundle layout,
read and written), :mod:`~audit.verify.files` (a bundle's log and the files its export entry attests,
:func:`verify_bundle`) and :mod:`~audit.verify.cli` (the exit statuses and the command line).
"""

from audit.verify.bundle import (
    AUDIT_FILES,
    BUNDLE_DIR,
    BUNDLE_FORMAT,
    CHECKPOINTS,
    ENTRIES,
    KEYS,
    LEAF_HASHES,
    MANIFEST,
    PROOFS,
    Attachment,
    Bundle,
    BundleError,
    write_bundle,
)
from audit.verify.cli import (
    EXIT_FAILED,
    EXIT_NOTHING_COVERED,
    EXIT_OK,
    EXIT_STATUSES,
    EXIT_UNCOVERED,
    EXIT_USAGE,
    load_verifiers,
    main,
    summary,
    verdict,
)
from audit.verify.files import check_attachments, verify_bundle
from audit.verify.log import ENTRY_VERSION, GENESIS_PREV, REQUIRED_FIELDS, VerifyResult, verify_log

__all__ = [
    "AUDIT_FILES",
    "BUNDLE_DIR",
    "BUNDLE_FORMAT",
    "CHECKPOINTS",
    "ENTRIES",
    "ENTRY_VERSION",
    "EXIT_FAILED",
    "EXIT_NOTHING_COVERED",
    "EXIT_OK",
    "EXIT_STATUSES",
    "EXIT_UNCOVERED",
    "EXIT_USAGE",
    "GENESIS_PREV",
    "KEYS",
    "LEAF_HASHES",
    "MANIFEST",
    "PROOFS",
    "REQUIRED_FIELDS",
    "Attachment",
    "Bundle",
    "BundleError",
    "VerifyResult",
    "check_attachments",
    "load_verifiers",
    "main",
    "summary",
    "verdict",
    "verify_bundle",
    "verify_log",
    "write_bundle",
]
