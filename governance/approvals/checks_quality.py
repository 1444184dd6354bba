"""The ``data_quality`` check: the data quality profile of each pinned dataset version against the
policy's rules (EU AI Act Art. 10(2)(f), 10(3)).

Each version is judged on the profile stored when it was registered from its file (its SHA-256 goes into
the result, and a training request pins it); a version without one fails, as nothing was examined.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from audit.jcs import canonical_json
from governance.approvals.check_types import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    CheckSubject,
    check_result,
)
from governance.approvals.rules_quality import profile_findings
from registry.selectors.quality import quality_profiles_of

NAME = "data_quality"
NO_PROFILE = "no quality profile: register the version from its file"
ALTERED = (
    "its quality profile no longer matches the SHA-256 stored with it: it was changed after it was computed"
)


def data_quality(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    versions = list(subject.dataset_versions)
    if not versions:
        return check_result(NAME, NOT_APPLICABLE, "no dataset version to judge")
    profiles = quality_profiles_of(versions)
    judged: list[dict[str, Any]] = []
    failures: list[str] = []
    for version in versions:
        label = f"{version.dataset.name}#{version.version}"
        row = profiles.get(version.pk)
        if row is None:
            failures.append(f"{label}: {NO_PROFILE}")
            judged.append(
                {"node_id": version.node_id, "label": label, "profile_sha256": None, "findings": []}
            )
            continue
        if hashlib.sha256(canonical_json(row.profile)).hexdigest() != row.sha256:
            failures.append(f"{label}: {ALTERED}")
            judged.append(
                {"node_id": version.node_id, "label": label, "profile_sha256": row.sha256, "findings": []}
            )
            continue
        findings = profile_findings(row.profile, params)
        failed = [finding["detail"] for finding in findings if not finding["passed"]]
        if failed:
            failures.append(f"{label}: {'; '.join(failed)}")
        judged.append(
            {
                "node_id": version.node_id,
                "label": label,
                "profile_sha256": row.sha256,
                "rows": row.profile.get("rows"),
                "findings": findings,
            }
        )
    data = {"params": dict(params), "versions": judged}
    if failures:
        return check_result(NAME, FAILED, " | ".join(failures), data)
    labels = ", ".join(str(one["label"]) for one in judged)
    return check_result(NAME, PASSED, f"{labels}: every quality rule met", data)
