"""Flatten a lineage report into CSV (RFC 4180) for spreadsheets and auditors' tooling.

One row per item, every section in the same eight columns, so the file sorts and filters
as a single table. Spreadsheet applications execute cells that start with ``=``, ``+``,
``-`` or ``@`` (and, per the OWASP "CSV Injection" guidance, tab and carriage return) as
formulas; such cells get a leading apostrophe, which the applications display as text
(``governance/core/csv_out.py``, the one CSV writer for files people open).

What the shared columns hold per section:

==========  ==============  ============  ==============  ======================  ============
section     name            version       sha256          when                    who
==========  ==============  ============  ==============  ======================  ============
erasure     request type    request id    (empty)         received at             status
dataset     dataset name    version       digest          (empty)                 (empty)
column      column          version       (empty)         (empty)                 flag
run         job             code version  (empty)         ``start/end`` interval  started by
model       model name      version       digest          registered at           registered by
approval    request         (empty)       covered digests signed at               signer
deployment  model name      version       (empty)         ``deployed/until``      deployed by
audit       action          leaf index    (empty)         timestamp               (empty)
==========  ==============  ============  ==============  ======================  ============

The first audit row is the checkpoint: ``version`` holds the tree size, ``who`` the log
origin and ``detail`` the signed note text. Intervals use ISO 8601 ``start/end`` notation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from governance.core.csv_out import csv_text
from registry.reports import columns
from registry.reports.erasure import erasure_sentence
from registry.reports.types import JSONValue, LineageReport

COLUMNS = ("section", "node", "name", "version", "sha256", "when", "who", "detail")


def to_csv(report: LineageReport) -> str:
    """Render the report as CSV text with a header row (``\\r\\n`` line ends, RFC 4180 §2)."""
    return csv_text(COLUMNS, _rows(report))


def _interval(start: str | None, end: str | None) -> str:
    # ISO 8601 §4.4.4.1 time interval "start/end"; an open end is left empty.
    if not start and not end:
        return ""
    return f"{start or ''}/{end or ''}"


def _compact(value: Mapping[str, JSONValue]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _rows(report: LineageReport) -> Iterator[tuple[object, ...]]:
    yield from _erasure_rows(report)
    yield from _dataset_rows(report)
    yield from _column_rows(report)
    yield from _activity_rows(report)
    yield from _audit_rows(report)


def _erasure_rows(report: LineageReport) -> Iterator[tuple[object, ...]]:
    """First, each privacy request that blocks a model version in the report."""
    for block in report.get("erasure_blocks") or []:
        yield (
            "erasure",
            block["url"],
            f"{block['type']} request",
            block["request"],
            "",
            block["received_at"],
            block["status"],
            erasure_sentence(block),
        )


def _dataset_rows(report: LineageReport) -> Iterator[tuple[object, ...]]:
    for dataset in report["datasets"]:
        consent = dataset["consent"]
        details = [
            f"namespace={dataset['namespace']}",
            f"rows={'' if dataset['rows'] is None else dataset['rows']}",
            f"personal_data={'yes' if dataset['holds_personal_data'] else 'no'}",
        ]
        if consent is not None:
            counts = ", ".join(f"{key}={count}" for key, count in sorted(consent["counts"].items()))
            details.append(f"consent={consent['summary']} ({counts})")
        yield (
            "dataset",
            dataset["node"],
            dataset["name"],
            dataset["version"],
            dataset["sha256"],
            "",
            "",
            "; ".join(details),
        )


def _column_rows(report: LineageReport) -> Iterator[tuple[object, ...]]:
    """Every input column behind the model versions: name=column, version=dataset version, who=flag."""
    for entry in report.get("input_columns") or []:
        detail = (
            f"categories={', '.join(entry['categories'])}; type={entry['type']}; {columns.route_text(entry)}"
        )
        flag = columns.flag_text(entry)
        yield ("column", entry["node"], entry["column"], entry["version"] or "", "", "", flag, detail)


def _activity_rows(report: LineageReport) -> Iterator[tuple[object, ...]]:
    """Runs, model versions, approvals and deployments, one row each."""
    for run in report["runs"]:
        yield (
            "run",
            run["node"],
            run["job"],
            run["code_version"],
            "",
            _interval(run["started_at"], run["ended_at"]),
            run["started_by"],
            f"run_id={run['run_id']}; parameters={_compact(run['parameters'])}; "
            f"metrics={_compact(run['metrics'])}",
        )
    for model in report["models"]:
        yield (
            "model",
            model["node"],
            model["name"],
            model["version"],
            model["sha256"],
            model["registered_at"],
            model["registered_by"],
            f"framework={model['framework']}",
        )
    for approval in report["approvals"]:
        yield (
            "approval",
            "",
            approval["request"],
            "",
            " ".join(approval["covers"]),
            approval["signed_at"],
            approval["signer_name"],
            f"meaning={approval['meaning']}; comment={approval['comment']}",
        )
    for deployment in report["deployments"]:
        yield (
            "deployment",
            deployment["node"],
            deployment["model"],
            deployment["version"],
            "",
            _interval(deployment["deployed_at"], deployment["until"]),
            deployment["deployed_by"],
            f"environment={deployment['environment']}; endpoint={deployment['endpoint']}",
        )


def _audit_rows(report: LineageReport) -> Iterator[tuple[object, ...]]:
    """The signed checkpoint, then each audit entry about the subject."""
    audit = report["audit"]
    yield (
        "audit",
        "",
        "checkpoint",
        audit["tree_size"],
        "",
        "",
        audit["origin"],
        audit["checkpoint"],
    )
    for entry in audit["entries"]:
        yield (
            "audit",
            "",
            entry["action"],
            entry["index"],
            "",
            entry["timestamp"],
            "",
            f"index={entry['index']}; target={entry['target']}",
        )
