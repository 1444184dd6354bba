"""Exporting lineage reports: every export is an audit entry, and the zip proves its own contents."""

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
from registry.models import LineageEvent, ModelVersion
from registry.reports.assemble import lineage_report_build
from registry.reports.html import to_html
from registry.reports.pdf import to_pdf
from registry.reports.prov import to_prov_json
from registry.reports.tabular import to_csv
from registry.reports.types import LineageReport
from registry.selectors.lineage import node_query
from registry.signing import versions_signature_files

FORMATS = ("json", "prov", "openlineage", "csv", "html", "pdf", "zip")
_MEDIA = {
    "json": ("application/json", "json"),
    "prov": ("application/json", "prov.json"),
    "openlineage": ("application/json", "openlineage.json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "zip": ("application/zip", "zip"),
}


@dataclass(frozen=True)
class RenderedReport:
    content: bytes
    content_type: str
    filename: str


def _openlineage_events(report: LineageReport) -> list[object]:
    run_ids = [run["run_id"] for run in report["runs"]]
    rows = LineageEvent.objects.filter(run_id__in=run_ids).order_by("event_time", "id")
    return list(rows.values_list("body", flat=True))


def _render(report: LineageReport, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=True).encode("utf-8")
    if fmt == "prov":
        return json.dumps(to_prov_json(report), indent=2, sort_keys=True).encode("utf-8")
    if fmt == "openlineage":
        return json.dumps(_openlineage_events(report), indent=2).encode("utf-8")
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(report)
    raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}")


def _model_versions(report: LineageReport) -> list[ModelVersion]:
    nodes = [model["node"] for model in report["models"]]
    query = node_query("model", nodes)
    if query is None:
        return []
    rows = ModelVersion.objects.select_related("model").filter(query).order_by("model__name", "version")
    return [row for row in rows if row.node_id in set(nodes)]


def lineage_report_export(*, actor: Actor, subject: str, fmt: str) -> RenderedReport:
    """Build, record and render the report of ``subject`` (a model version or deployment node id).

    1. Build the report (raises NotFound for an unknown node) before recording anything, and name the
       first signed checkpoint that covers its entries (``audit.checkpoints.checkpoint_covering``).
    2. Render. A zip holds every format, and each model version's OpenSSF signature bundle, signed
       provenance.json and the service's public key(s); their SHA-256s go into the export's audit entry.
    3. Record the export: one audit entry, committed (and so integrated into the log).
    4. Zip only: sign a checkpoint covering that entry and add a partial audit bundle (the entries
       behind each step and the export itself, each with an inclusion proof), so that
       ``python -m audit.verify`` proves the whole zip offline: a changed byte anywhere fails.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    report = lineage_report_build(subject=subject)
    checkpoint = checkpoint_covering(max((row["index"] for row in report["audit"]["entries"]), default=-1))
    report["audit"]["tree_size"] = checkpoint.size
    report["audit"]["checkpoint"] = checkpoint.note
    stem = "lineage-" + "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in subject)[:120]
    content_type, extension = _MEDIA[fmt]
    if fmt == "zip":
        files = {f"report.{_MEDIA[one][1]}": _render(report, one) for one in FORMATS if one != "zip"}
        files.update(versions_signature_files(_model_versions(report)))
    else:
        files = {f"{stem}.{extension}": _render(report, fmt)}
    audit_record(
        actor=actor,
        action=AuditAction.LINEAGE_REPORT_EXPORT,
        target=Target.of("lineage_report", subject),
        data={
            "format": fmt,
            "nodes": len(report["nodes"]),
            "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
        },
    )
    if fmt != "zip":
        return RenderedReport(files[f"{stem}.{extension}"], content_type, f"{stem}.{extension}")
    export_index = (
        AuditEntry.objects.filter(action=AuditAction.LINEAGE_REPORT_EXPORT.value, target_id=subject)
        .order_by("-index")
        .values_list("index", flat=True)
        .first()
    )
    indices = [row["index"] for row in report["audit"]["entries"]]
    if export_index is not None:
        indices.append(export_index)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.zip"
        audit_proof_bundle(out=path, indices=indices, extra_files=files)
        return RenderedReport(path.read_bytes(), content_type, f"{stem}.zip")
