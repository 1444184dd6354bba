"""Exporting a model version's technical documentation: every export is an audit entry, and the zip
proves its own contents offline (``python -m audit.verify``), as the lineage report's does."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import checkpoint_covering
from audit.exporting import audit_proof_bundle
from audit.models import AuditEntry
from audit.services import Target, audit_record
from governance.core.errors import ValidationFailed
from governance.documentation.facts import model_version_for
from governance.documentation.render_html import to_html
from governance.documentation.render_pdf import to_pdf
from governance.documentation.selectors import technical_documentation_build
from governance.documentation.types import TechnicalDocument
from registry.signing import versions_signature_files

FORMATS = ("json", "html", "pdf", "zip")
_MEDIA = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
STEM = "technical-documentation"


@dataclass(frozen=True)
class RenderedDocument:
    content: bytes
    content_type: str
    filename: str
    sha256: str  # of the document as rendered (for a zip: of its JSON)


def to_json(document: TechnicalDocument) -> bytes:
    """The canonical JSON rendering: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _render(document: TechnicalDocument, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(document)
    if fmt == "html":
        return to_html(document).encode("utf-8")
    return to_pdf(document)


def technical_documentation_export(*, actor: Actor, subject: str, fmt: str) -> RenderedDocument:
    """Build, record and render the documentation of ``subject`` (``model:<name>#<version>``).

    1. Build the document (ValidationFailed or NotFound before anything is recorded) and name the
       first signed checkpoint covering the entries it lists.
    2. Render: one format, or for a zip the JSON, HTML and PDF with the version's signature bundle,
       signed provenance and the public key that signed it.
    3. Record the export: one audit entry (node id, format, the document's SHA-256 and each file's),
       committed, and so integrated into the log.
    4. Zip only: sign a checkpoint covering that entry and add a partial audit bundle (the listed
       entries and the export's own, each with an inclusion proof): a changed byte anywhere fails.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    document = technical_documentation_build(subject=subject)
    entries = document["audit"]["entries"]
    checkpoint = checkpoint_covering(max((row["index"] for row in entries), default=-1))
    document["audit"]["tree_size"] = checkpoint.size
    document["audit"]["checkpoint"] = checkpoint.note
    node = document["subject"]
    stem = STEM + "-" + "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in node)[:120]
    if fmt == "zip":
        files = {f"{STEM}.{one}": _render(document, one) for one in ("json", "html", "pdf")}
        files.update(versions_signature_files([model_version_for(node)]))
        digest = hashlib.sha256(files[f"{STEM}.json"]).hexdigest()
    else:
        files = {f"{stem}.{fmt}": _render(document, fmt)}
        digest = hashlib.sha256(files[f"{stem}.{fmt}"]).hexdigest()
    audit_record(
        actor=actor,
        action=AuditAction.TECHNICAL_DOCUMENTATION_EXPORT,
        target=Target.of("technical_documentation", node),
        data={
            "node": node,
            "format": fmt,
            "sha256": digest,
            "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
        },
    )
    if fmt != "zip":
        return RenderedDocument(files[f"{stem}.{fmt}"], _MEDIA[fmt], f"{stem}.{fmt}", digest)
    export_index = (
        AuditEntry.objects.filter(action=AuditAction.TECHNICAL_DOCUMENTATION_EXPORT.value, target_id=node)
        .order_by("-index")
        .values_list("index", flat=True)
        .first()
    )
    indices = [row["index"] for row in entries]
    if export_index is not None:
        indices.append(export_index)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "documentation.zip"
        audit_proof_bundle(out=path, indices=indices, extra_files=files)
        return RenderedDocument(path.read_bytes(), _MEDIA["zip"], f"{stem}.zip", digest)
