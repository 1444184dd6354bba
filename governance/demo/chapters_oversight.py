"""Chapters 6-8 of the demo: drift monitoring and its retraining request, an erasure request and what
it blocks, and the auditor's files verified offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from governance.demo.chapters_release import Story, deploy_request
from governance.demo.client import ApiError, page_as, sign
from governance.demo.data import ERASED, customer

PREDICT = "/api/v1/deployments/production/churn/predict"
CHECK = "/api/v1/deployments/production/churn/monitoring/check"


def monitoring(story: Story) -> int:
    """6. Calm traffic, then shifted traffic and a drift alarm; returns the retraining request it opened."""
    api, say = story.api, story.say
    say("\n== 6. Monitoring: traffic like the training data, then shifted traffic and a drift alarm")
    calm = [customer(n, shift=0.0) for n in range(300)]
    for start in range(0, len(calm), 100):
        api.call("pipe", "POST", PREDICT, {"rows": calm[start : start + 100]})
    check = api.call("carla", "POST", CHECK)
    say(f"   check on {check['samples']} predictions like the training data: alarm={check['alarm']}")
    shifted = [customer(n, shift=15.0) for n in range(300, 600)]  # monthly spend up one standard deviation
    for start in range(0, len(shifted), 100):
        api.call("pipe", "POST", PREDICT, {"rows": shifted[start : start + 100]})
    check = api.call("carla", "POST", CHECK)
    breaches = "; ".join(check["result"]["breaches"])
    say(f"   check on {check['samples']} shifted predictions: alarm={check['alarm']}; {breaches}")
    if not check["alarm"] or not check["retraining_release"]:
        raise RuntimeError("shifted traffic raised no drift alarm")
    retrain = api.call("dana", "GET", f"/api/v1/releases/{check['retraining_release']}")
    say(f"   retraining request {retrain['id']} opened: {retrain['status']}, waiting for sign-off")
    return int(retrain["id"])


def erasure(story: Story, retrain: int) -> None:
    """7. An erasure request (GDPR Art. 17): its impact, the stale retraining request, a refused deploy."""
    api, say = story.api, story.say
    say("\n== 7. An erasure request (GDPR Art. 17) from a customer in the training data")
    request = api.call(
        "carla",
        "POST",
        "/api/v1/privacy-requests",
        {"subject_id": ERASED, "type": "erasure", "jurisdiction": "eu_eea"},
    )["request"]
    say(f"   request {request['id']}: {request['status']}, answer due by {request['respond_by']}")
    api.call("carla", "POST", f"/api/v1/privacy-requests/{request['id']}/status", {"status": "verified"})
    impact = api.call("carla", "POST", f"/api/v1/privacy-requests/{request['id']}/impact")["impact"] or {}
    for key in ("dataset_versions", "runs", "model_versions", "deployments"):
        found = [item if isinstance(item, str) else item["node_id"] for item in impact.get(key) or []]
        say(f"   affected {key.replace('_', ' ')}: {', '.join(found) or 'none'}")
    _stale_evidence_refused(story, retrain)
    redeploy = api.call("dana", "POST", "/api/v1/releases", deploy_request("staging"))
    failed = [check["detail"] for check in redeploy["checks"] if check["status"] == "failed"]
    if redeploy["status"] != "rejected" or not failed:
        raise RuntimeError("a deploy request of an erasure-affected model version was not refused")
    say(
        f"   a new deploy of churn v1 is refused at once "
        f"(release {redeploy['id']} {redeploy['status']}): {failed[0]}"
    )


def _stale_evidence_refused(story: Story, release: int) -> None:
    """A request filed before the erasure: its page shows the check that fails now, and an approval is
    refused, before anyone has signed it."""
    page = page_as(story.api, "carla", story.passwords["carla"], f"/approvals/{release}/")
    row = re.search(
        r'<td>no_erasure_impact</td><td class="check-(\w+)">.*?'
        r'<td class="evaluated-at">(?:<time[^>]*>)?([^<]+)<',
        page,
    )
    if row is None or row[1] != "failed":
        raise RuntimeError(f"the page of request {release} does not show no_erasure_impact failed")
    story.say(
        f"   the page of retraining request {release} (filed before the erasure): no_erasure_impact failed, "
        f"evaluated {row[2]}"
    )
    try:
        sign(story.api, "carla", release, story.passwords["carla"], "retrain")
    except ApiError as refused:
        if not isinstance(refused.body, dict) or refused.body.get("error") != "check_failed":
            raise RuntimeError(
                f"signing request {release} was refused for another reason: {refused.body}"
            ) from refused
        failing = ", ".join(refused.body["checks"])
        story.say(
            f"   Carla's approval is refused ({refused.status} check_failed: {failing}); nothing was signed"
        )
    else:
        raise RuntimeError(f"request {release} was signed although a check fails")


def audit_files(story: Story) -> dict[str, Any]:
    """8. The lineage report, the model's technical documentation (EU AI Act Annex IV) and the audit
    bundle, downloaded by the auditor and verified offline."""
    api, out = story.api, story.out
    story.say(
        "\n== 8. The auditor's lineage report, technical documentation and audit bundle, verified offline"
    )
    report_path = out / "lineage-report.zip"
    report_path.write_bytes(
        api.call("audrey", "GET", "/api/v1/reports/lineage?nodeId=deployment:production:churn&format=zip")
    )
    documentation = api.call(
        "audrey", "GET", "/api/v1/reports/technical-documentation?nodeId=model:churn%231&format=json"
    )
    recorded = [one for one in documentation["sections"] if one["status"] != "no evidence recorded"]
    story.say(
        f"   technical documentation of model:churn#1: {len(documentation['sections'])} Annex IV sections, "
        f"{len(recorded)} with evidence recorded, the rest saying so (e.g. "
        f"{documentation['sections'][-2]['point']}: {documentation['sections'][-2]['status']})"
    )
    documentation_path = out / "technical-documentation.zip"
    documentation_path.write_bytes(
        api.call("audrey", "GET", "/api/v1/reports/technical-documentation?nodeId=model:churn%231&format=zip")
    )
    bundle_path = out / "audit-bundle.zip"
    bundle_path.write_bytes(api.call("audrey", "GET", "/api/v1/audit/export"))
    key = api.call("audrey", "GET", "/api/v1/audit/public-key")
    key_text = (
        key["vkey"]
        if isinstance(key, dict) and "vkey" in key
        else (key.decode() if isinstance(key, bytes) else str(key))
    )
    key_path = out / "audit-verifier-key.txt"
    key_path.write_text(key_text.strip() + "\n")
    for path in (report_path, documentation_path, bundle_path):
        check = subprocess.run(  # noqa: S603 (our own offline verifier, on files we just wrote)
            [sys.executable, "-m", "audit.verify", str(path), "--key", str(key_path)],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"verification of {path} failed: {check.stdout}{check.stderr}")
        story.say(f"   {path}: {check.stdout.strip().splitlines()[-1]}")
    return {"report": str(report_path), "documentation": str(documentation_path), "bundle": str(bundle_path)}
