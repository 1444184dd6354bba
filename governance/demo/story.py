"""The governed story ``make demo`` tells over the running service's HTTP API, as its users would.

A dataset with consent (some withdrawn, some opted out by the GPC header) → a training request → two
sign-offs → training in the worker → a deploy request → two sign-offs → deploy → predictions → an
erasure request that marks the model affected and blocks its redeploy → the lineage report and the
audit bundle, both verified offline. Every step prints what happened; files land in ``var/demo/``.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

PURPOSE = "train_ai_system"
CUSTOMERS = 240
WITHDRAWN = range(0, 12)  # customers c-0000 ... c-0011 withdraw after granting
GPC_OPT_OUT = range(12, 15)  # three Californians send Sec-GPC: 1
ERASED = "c-0042"


class ApiError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """A tiny JSON client for the service's API, one bearer token per persona."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.tokens = tokens

    def call(
        self,
        who: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.tokens[who]}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = response.read()
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                raise ApiError(exc.code, json.loads(text)) from None
            except json.JSONDecodeError:
                raise ApiError(exc.code, text) from None
        return json.loads(payload) if "json" in kind else payload

    def upload(self, who: str, path: str, field: str, filename: str, content: bytes) -> Any:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.call(
            who, "POST", path, raw=body, content_type=f"multipart/form-data; boundary={boundary}"
        )


def customers_csv(rows: int = CUSTOMERS * 2, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    out.write("customer_id,tenure,plan,monthly_spend,support_calls,churned\n")
    for n in range(rows):
        tenure = int(rng.integers(1, 72))
        plan = ("basic", "plus", "pro")[int(rng.integers(0, 3))]
        spend = round(float(rng.normal(45, 15)), 2)
        calls = int(rng.poisson(2))
        risk = (tenure < 18) + (plan == "basic") + (calls > 3) + (spend > 65)
        churned = int(risk + rng.normal(0, 0.6) > 1.5)
        out.write(f"c-{n % CUSTOMERS:04d},{tenure},{plan},{spend},{calls},{churned}\n")
    return out.getvalue().encode()


def consent_csv() -> bytes:
    lines = ["subject_id,purpose,event,jurisdiction,occurred_at,lawful_basis,method"]
    for n in range(CUSTOMERS):
        where = "california" if n in GPC_OPT_OUT else "eu_eea"
        lines.append(f"c-{n:04d},{PURPOSE},grant,{where},2026-01-15T09:00:00Z,consent,import")
    return ("\n".join(lines) + "\n").encode()


def _customer(n: int, *, shift: float) -> dict[str, Any]:
    """A prediction request drawn like ``customers_csv`` rows; ``shift`` moves the monthly spend."""
    rng = np.random.default_rng(1000 + n)
    return {
        "tenure": int(rng.integers(1, 72)),
        "plan": ("basic", "plus", "pro")[int(rng.integers(0, 3))],
        "monthly_spend": round(float(rng.normal(45, 15)) + shift, 2),
        "support_calls": int(rng.poisson(2)),
    }


def _wait_job(api: Api, who: str, job_id: int, say: Callable[[str], None]) -> dict[str, Any]:
    seen = ""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = api.call(who, "GET", f"/api/v1/jobs/{job_id}")
        progress = f"{job['status']} / {job['stage']} {job['percent']}%"
        if progress != seen:
            say(f"     job {job_id}: {progress}")
            seen = progress
        if job["status"] in {"succeeded", "failed", "refused"}:
            return dict(job)
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} did not finish in 300 s")


def _sign(api: Api, who: str, release: int, password: str, comment: str) -> dict[str, Any]:
    body = {"meaning": "approved", "comment": comment, "password": password}
    return dict(api.call(who, "POST", f"/api/v1/releases/{release}/signatures", body)["signature"])


def _page_as(api: Api, who: str, password: str, path: str) -> str:
    """A web page as ``who`` sees it in a browser: signed in through the login form, then fetched."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = f"{api.base}/accounts/login/"
    with opener.open(login, timeout=60) as response:
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())
    fields = {"username": who, "password": password, "csrfmiddlewaretoken": csrf[1] if csrf else ""}
    opener.open(
        urllib.request.Request(login, data=urllib.parse.urlencode(fields).encode()), timeout=60
    ).close()
    with opener.open(f"{api.base}{path}", timeout=60) as response:
        return str(response.read().decode())


def _stale_evidence_refused(
    api: Api, passwords: dict[str, str], release: int, say: Callable[[str], None]
) -> None:
    """A request filed before the erasure: its page shows the check that fails now, and an approval is
    refused, before anyone has signed it."""
    page = _page_as(api, "carla", passwords["carla"], f"/approvals/{release}/")
    row = re.search(
        r'<td>no_erasure_impact</td><td class="check-(\w+)">.*?<td class="evaluated-at">([^<]+)</td>', page
    )
    if row is None or row[1] != "failed":
        raise RuntimeError(f"the page of request {release} does not show no_erasure_impact failed")
    say(
        f"   the page of retraining request {release} (filed before the erasure): no_erasure_impact failed, "
        f"evaluated {row[2]}"
    )
    try:
        _sign(api, "carla", release, passwords["carla"], "retrain")
    except ApiError as refused:
        if not isinstance(refused.body, dict) or refused.body.get("error") != "check_failed":
            raise RuntimeError(
                f"signing request {release} was refused for another reason: {refused.body}"
            ) from refused
        failing = ", ".join(refused.body["checks"])
        say(f"   Carla's approval is refused ({refused.status} check_failed: {failing}); nothing was signed")
    else:
        raise RuntimeError(f"request {release} was signed although a check fails")


def run_story(
    api: Api, passwords: dict[str, str], var_dir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    out = var_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    say("\n== 1. A dataset of customers, with the personal data it holds")
    api.call(
        "dana",
        "POST",
        "/api/v1/datasets",
        {
            "namespace": "crm",
            "name": "customers",
            "description": "Customer accounts and churn labels",
            "holds_personal_data": True,
            "subject_id_column": "customer_id",
            "jurisdictions": ["eu_eea", "california"],
            "data_categories": ["user.financial", "user.behavior"],
            "purposes": [PURPOSE],
        },
    )
    version = api.upload(
        "dana", "/api/v1/datasets/customers/versions?namespace=crm", "file", "c.csv", customers_csv()
    )
    say(f"   {version['node_id']}: {version['row_count']} rows, sha256 {version['sha256'][:16]}…")

    say("\n== 2. Consent: imported grants, then withdrawals and GPC opt-outs")
    imported = api.call("pipe", "POST", "/api/v1/consent/import", raw=consent_csv(), content_type="text/csv")
    say(f"   imported {imported['events']} consent events for {imported['subjects']} customers")
    for n in WITHDRAWN:
        api.call(
            "pipe",
            "POST",
            "/api/v1/consent",
            {
                "subject_id": f"c-{n:04d}",
                "purpose": PURPOSE,
                "event": "withdraw",
                "jurisdiction": "eu_eea",
                "method": "form",
            },
        )
    for n in GPC_OPT_OUT:
        api.call(
            "pipe",
            "POST",
            "/api/v1/consent",
            {"subject_id": f"c-{n:04d}", "jurisdiction": "california"},
            headers={"Sec-GPC": "1"},
        )
    say(
        f"   {len(WITHDRAWN)} customers withdrew consent; "
        f"{len(GPC_OPT_OUT)} Californians opted out with Sec-GPC: 1"
    )
    eligibility = api.call(
        "dana",
        "GET",
        f"/api/v1/datasets/customers/versions/{version['version']}/eligibility?namespace=crm&purpose={PURPOSE}",
    )
    say(f"   eligible for training: {eligibility['rows_included']} of {eligibility['rows_total']} rows")

    say("\n== 3. A training request (high risk: two compliance officers must sign)")
    training = api.call(
        "dana",
        "POST",
        "/api/v1/releases",
        {
            "kind": "train",
            "model": "churn",
            "risk_level": "high",
            "datasets": [{"namespace": "crm", "name": "customers", "version": version["version"]}],
            "parameters": {"target": "churned", "n_estimators": 120, "max_depth": 8, "random_state": 1},
            "code_version": "git:4f2a9c1",
            "metric_thresholds": {"accuracy": 0.6},
            "dpia_reference": "DPIA-2026-014",
            "human_overseer": "colin",
            "justification": "Quarterly churn model",
        },
    )
    say(
        f"   release {training['id']}: {training['status']}, checks: "
        + ", ".join(f"{c['name']} {c['status']}" for c in training["checks"])
    )
    try:
        api.call("dana", "POST", f"/api/v1/releases/{training['id']}/run")
    except ApiError as refused:
        say(f"   running it before sign-off is refused ({refused.status}): {refused.body['detail']}")
    for who, comment in (("carla", "data pinned, thresholds declared"), ("colin", "agree; overseer")):
        signature = _sign(api, who, training["id"], passwords[who], comment)
        say(f"   signed: {signature['printed_name']} · {signature['meaning']} · {signature['signed_at']}")

    say("\n== 4. Training in the worker (grant verified and claimed, bytes hashed, consent applied)")
    job = api.call("dana", "POST", f"/api/v1/releases/{training['id']}/run")
    trained = _wait_job(api, "dana", job["id"], say)
    if trained["status"] != "succeeded":
        raise RuntimeError(f"training {trained['status']}: {trained['error']}")
    model_node = trained["result"]["model_version"]
    say(f"   registered {model_node}: metrics {trained['result']['metrics']}")
    say(f"   consent manifest: {trained['result']['consent'][0]}")
    _artifact_story(api, trained["result"], out, say)

    say("\n== 5. Deploying to production (two sign-offs), then predictions")
    deploy = api.call(
        "dana",
        "POST",
        "/api/v1/releases",
        {
            "kind": "deploy",
            "model": "churn",
            "version": 1,
            "environment": "production",
            "metric_thresholds": {"accuracy": 0.6},
            "dpia_reference": "DPIA-2026-014",
            "human_overseer": "colin",
        },
    )
    for who in ("carla", "colin"):
        _sign(api, who, deploy["id"], passwords[who], "approved for production")
    job = api.call("dana", "POST", f"/api/v1/releases/{deploy['id']}/run")
    deployed = _wait_job(api, "dana", job["id"], say)
    if deployed["status"] != "succeeded":
        raise RuntimeError(f"deploy {deployed['status']}: {deployed['error']}")
    rows = [
        {"tenure": 3, "plan": "basic", "monthly_spend": 70.0, "support_calls": 6},
        {"tenure": 60, "plan": "pro", "monthly_spend": 30.0, "support_calls": 0},
    ]
    predicted = api.call("pipe", "POST", "/api/v1/deployments/production/churn/predict", {"rows": rows})
    say(f"   predictions from churn v{predicted['model_version']}: {predicted['predictions']}")

    say("\n== 6. Monitoring: traffic like the training data, then shifted traffic and a drift alarm")
    calm = [_customer(n, shift=0.0) for n in range(300)]
    for start in range(0, len(calm), 100):
        api.call(
            "pipe",
            "POST",
            "/api/v1/deployments/production/churn/predict",
            {"rows": calm[start : start + 100]},
        )
    check = api.call("carla", "POST", "/api/v1/deployments/production/churn/monitoring/check")
    say(f"   check on {check['samples']} predictions like the training data: alarm={check['alarm']}")
    shifted = [_customer(n, shift=15.0) for n in range(300, 600)]  # monthly spend up one standard deviation
    for start in range(0, len(shifted), 100):
        api.call(
            "pipe",
            "POST",
            "/api/v1/deployments/production/churn/predict",
            {"rows": shifted[start : start + 100]},
        )
    check = api.call("carla", "POST", "/api/v1/deployments/production/churn/monitoring/check")
    breaches = "; ".join(check["result"]["breaches"])
    say(f"   check on {check['samples']} shifted predictions: alarm={check['alarm']}; {breaches}")
    if not check["alarm"] or not check["retraining_release"]:
        raise RuntimeError("shifted traffic raised no drift alarm")
    retrain = api.call("dana", "GET", f"/api/v1/releases/{check['retraining_release']}")
    say(f"   retraining request {retrain['id']} opened: {retrain['status']}, waiting for sign-off")

    say("\n== 7. An erasure request (GDPR Art. 17) from a customer in the training data")
    erasure = api.call(
        "carla",
        "POST",
        "/api/v1/privacy-requests",
        {"subject_id": ERASED, "type": "erasure", "jurisdiction": "eu_eea"},
    )["request"]
    say(f"   request {erasure['id']}: {erasure['status']}, answer due by {erasure['respond_by']}")
    api.call("carla", "POST", f"/api/v1/privacy-requests/{erasure['id']}/status", {"status": "verified"})
    impact = api.call("carla", "POST", f"/api/v1/privacy-requests/{erasure['id']}/impact")["impact"] or {}
    for key in ("dataset_versions", "runs", "model_versions", "deployments"):
        found = [item if isinstance(item, str) else item["node_id"] for item in impact.get(key) or []]
        say(f"   affected {key.replace('_', ' ')}: {', '.join(found) or 'none'}")
    _stale_evidence_refused(api, passwords, retrain["id"], say)
    redeploy = api.call(
        "dana",
        "POST",
        "/api/v1/releases",
        {
            "kind": "deploy",
            "model": "churn",
            "version": 1,
            "environment": "staging",
            "metric_thresholds": {"accuracy": 0.6},
            "dpia_reference": "DPIA-2026-014",
            "human_overseer": "colin",
        },
    )
    failed = [check["detail"] for check in redeploy["checks"] if check["status"] == "failed"]
    if redeploy["status"] != "rejected" or not failed:
        raise RuntimeError("a deploy request of an erasure-affected model version was not refused")
    say(
        f"   a new deploy of churn v1 is refused at once "
        f"(release {redeploy['id']} {redeploy['status']}): {failed[0]}"
    )

    say("\n== 8. The auditor's lineage report and the audit bundle, verified offline")
    report = api.call(
        "audrey", "GET", "/api/v1/reports/lineage?nodeId=deployment:production:churn&format=zip"
    )
    report_path = out / "lineage-report.zip"
    report_path.write_bytes(report)
    bundle = api.call("audrey", "GET", "/api/v1/audit/export")
    bundle_path = out / "audit-bundle.zip"
    bundle_path.write_bytes(bundle)
    key = api.call("audrey", "GET", "/api/v1/audit/public-key")
    key_text = (
        key["vkey"]
        if isinstance(key, dict) and "vkey" in key
        else (key.decode() if isinstance(key, bytes) else str(key))
    )
    key_path = out / "audit-verifier-key.txt"
    key_path.write_text(key_text.strip() + "\n")
    for path in (report_path, bundle_path):
        check = subprocess.run(
            [sys.executable, "-m", "audit.verify", str(path), "--key", str(key_path)],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"verification of {path} failed: {check.stdout}{check.stderr}")
        say(f"   {path}: {check.stdout.strip().splitlines()[-1]}")
    return {"model": model_node, "report": str(report_path), "bundle": str(bundle_path)}


def _artifact_story(api: Api, result: dict[str, Any], out: Path, say: Callable[[str], None]) -> None:
    """The trained version's safe artifacts and their signature, checked with the stock model_signing CLI;
    a pickle upload refused at the door."""
    from registry import signing
    from registry.models import ModelVersion

    name, _, number = result["model_version"].removeprefix("model:").partition("#")
    version = ModelVersion.objects.select_related("model", "run").get(model__name=name, version=int(number))
    say(
        f"   artifact: skops {version.artifact_sha256[:12]}…, served as ONNX {version.onnx_sha256[:12]}…, "
        f"signed by the service (OpenSSF model signing, key {version.signing_key_id[:12]}…) "
        f"naming {version.node_id} and {version.run.node_id if version.run else 'no run'}"
    )
    folder = out / "signed-model"
    model_dir = signing.version_materialise(version, folder)
    key = folder / "service-public-key.pem"
    key.write_bytes(signing.trusted_public_keys()[version.signing_key_id])
    check = subprocess.run(
        [
            str(Path(sys.executable).with_name("model_signing")),
            "verify",
            "key",
            "--signature",
            str(folder / signing.BUNDLE_NAME),
            "--public_key",
            str(key),
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check.returncode != 0:
        raise RuntimeError(f"model_signing verify failed: {check.stdout}{check.stderr}")
    say(f"   stock CLI `model_signing verify key` on {model_dir}: {check.stdout.strip() or 'OK'}")
    # A pickle (protocol 4: PROTO opcode, then an empty dict and STOP) is refused unread.
    try:
        api.upload("dana", "/api/v1/models/churn/versions", "artifact", "model.pkl", b"\x80\x04}\x94.")
    except ApiError as refused:
        say(f"   a pickle upload is refused ({refused.status}): {refused.body['detail']}")
    else:
        raise RuntimeError("a pickle upload was accepted")
