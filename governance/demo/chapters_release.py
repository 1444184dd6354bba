"""Chapters 1-5 of the demo: data with consent, a training request signed off and run, the trained
version's artifacts and signature, and a deploy with its first predictions."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.demo.client import Api, ApiError, Say, sign, wait_job
from governance.demo.data import (
    BIAS_THRESHOLD,
    FEATURES,
    GPC_OPT_OUT,
    PROTECTED,
    PURPOSE,
    WITHDRAWN,
    consent_csv,
    customers_csv,
)


@dataclass(frozen=True)
class Story:
    """What every chapter needs: the API client, the personas' passwords, where files go, and a voice."""

    api: Api
    passwords: dict[str, str]
    out: Path
    say: Say


def dataset(story: Story) -> dict[str, Any]:
    """1. The customers dataset (personal data, two jurisdictions) and its first version."""
    story.say("\n== 1. A dataset of customers, with the personal data it holds")
    story.api.call(
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
            "data_categories": ["user.financial", "user.behavior", "user.demographic.gender"],
            "purposes": [PURPOSE],
            "target_column": "churned",
            "protected_attributes": PROTECTED,
        },
    )
    version = story.api.upload(
        "dana", "/api/v1/datasets/customers/versions?namespace=crm", "file", "c.csv", customers_csv(sex=True)
    )
    story.say(f"   {version['node_id']}: {version['row_count']} rows, sha256 {version['sha256'][:16]}…")
    story.say(
        "   protected attribute declared for the bias examination (EU AI Act Art. 10(2)(f)): "
        + ", ".join(f"{item['column']} ({', '.join(item['data_categories'])})" for item in PROTECTED)
    )
    _quality(story, version)
    return dict(version)


def _quality(story: Story, version: dict[str, Any]) -> None:
    """The quality profile stored and hashed with the version (EU AI Act Art. 10(3)), as officers see it."""
    stored = version.get("quality_profile")
    if not stored:
        raise RuntimeError(f"{version['node_id']} was stored without a quality profile")
    profile = stored["profile"]
    missing = [
        f"{column['name']} {column['missing_fraction']:.1%}"
        for column in profile["columns"]
        if column["missing"]
    ]
    classes = ", ".join(
        f"{one['value']}: {one['count']}" for one in (profile.get("target") or {}).get("classes", [])
    )
    story.say(
        f"   quality profile sha256 {stored['sha256'][:16]}…: {profile['rows']} rows, "
        f"{profile['duplicate_rows']} duplicate rows, {profile['duplicate_subjects']} duplicate subject ids, "
        f"missing values: {', '.join(missing) or 'none'}; label balance {classes}"
    )


def consent(story: Story, version: dict[str, Any]) -> None:
    """2. Imported grants, then withdrawals and Global Privacy Control opt-outs; who is left eligible."""
    api, say = story.api, story.say
    say("\n== 2. Consent: imported grants, then withdrawals and GPC opt-outs")
    imported = api.call("pipe", "POST", "/api/v1/consent/import", raw=consent_csv(), content_type="text/csv")
    say(f"   imported {imported['events']} consent events for {imported['subjects']} customers")
    for n in WITHDRAWN:
        withdrawal = {
            "subject_id": f"c-{n:04d}",
            "purpose": PURPOSE,
            "event": "withdraw",
            "jurisdiction": "eu_eea",
            "method": "form",
        }
        api.call("pipe", "POST", "/api/v1/consent", withdrawal)
    for n in GPC_OPT_OUT:
        opt_out = {"subject_id": f"c-{n:04d}", "jurisdiction": "california"}
        api.call("pipe", "POST", "/api/v1/consent", opt_out, headers={"Sec-GPC": "1"})
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


def training_request(story: Story, version: dict[str, Any]) -> int:
    """3. A high-risk training request: refused to run before sign-off, then signed by two officers."""
    api, say = story.api, story.say
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
            "parameters": {
                "target": "churned",
                "features": FEATURES,
                "n_estimators": 120,
                "max_depth": 8,
                "random_state": 1,
            },
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
        signature = sign(api, who, training["id"], story.passwords[who], comment)
        say(f"   signed: {signature['printed_name']} · {signature['meaning']} · {signature['signed_at']}")
    return int(training["id"])


def training(story: Story, release: int) -> str:
    """4. The worker trains (grant verified and claimed, bytes hashed, consent applied); returns the
    registered version's node id."""
    say = story.say
    say("\n== 4. Training in the worker (grant verified and claimed, bytes hashed, consent applied)")
    job = story.api.call("dana", "POST", f"/api/v1/releases/{release}/run")
    trained = wait_job(story.api, "dana", job["id"], say)
    if trained["status"] != "succeeded":
        raise RuntimeError(f"training {trained['status']}: {trained['error']}")
    model_node = str(trained["result"]["model_version"])
    say(f"   registered {model_node}: metrics {trained['result']['metrics']}")
    say(f"   consent manifest: {trained['result']['consent'][0]}")
    _bias_examination(story, model_node)
    _artifacts(story, model_node)
    return model_node


def _bias_examination(story: Story, model_node: str) -> None:
    """The examination the job ran on its held-out rows (no policy asked for it), then the administrator
    setting the production policy's threshold, and whether it holds."""
    api, say = story.api, story.say
    number = model_node.partition("#")[2]
    examination = api.call("dana", "GET", f"/api/v1/models/churn/versions/{number}")["bias_examination"]
    if not examination.get("attributes"):
        raise RuntimeError(f"no bias examination recorded for {model_node}: {examination}")
    say(
        f"   bias examination on {examination['rows']} {examination['evaluated_on']} "
        f"({examination['library']}, positive label {examination['positive_label']}), no threshold set yet:"
    )
    for attribute in examination["attributes"]:
        groups = ", ".join(
            f"{group['value']} {group['selection_rate']} of {group['count']}" for group in attribute["groups"]
        )
        say(
            f"     {attribute['column']}: demographic parity difference "
            f"{attribute['demographic_parity_difference']} (selection rate {groups}), "
            f"equalized odds difference {attribute['equalized_odds_difference']}"
        )
    policy = api.call("ada", "GET", "/api/v1/policies/deploy-production")["current"]
    checks = [*policy["checks"], {"name": "bias_within_threshold", "params": BIAS_THRESHOLD}]
    spec = {key: policy[key] for key in ("kind", "environment", "risk_levels", "required_approvals")}
    spec.update(approval_validity_seconds=policy["approval_validity_seconds"], checks=checks)
    spec.update(signer_exclusions=policy["signer_exclusions"], change_note="bias threshold (Art. 10)")
    added = api.call("ada", "POST", "/api/v1/policies/deploy-production/versions", spec)
    limit = BIAS_THRESHOLD["demographic_parity_difference"]
    say(f"   ada sets deploy-production v{added['version']}: demographic parity difference at most {limit}")
    for attribute in examination["attributes"]:
        value = attribute["demographic_parity_difference"]
        verdict = "the threshold holds" if value is not None and value <= limit else "the threshold fails"
        say(f"     {attribute['column']}: {value} against {limit}: {verdict}")


def _artifacts(story: Story, model_node: str) -> None:
    """The trained version's safe artifacts and their signature, checked with the stock model_signing CLI;
    a pickle upload refused at the door."""
    # Imported here, not at the top: the demo imports this module before run.py has called django.setup().
    from registry import signing
    from registry.models import ModelVersion

    name, _, number = model_node.removeprefix("model:").partition("#")
    version = ModelVersion.objects.select_related("model", "run").get(model__name=name, version=int(number))
    story.say(
        f"   artifact: skops {version.artifact_sha256[:12]}…, served as ONNX {version.onnx_sha256[:12]}…, "
        f"signed by the service (OpenSSF model signing, key {version.signing_key_id[:12]}…) "
        f"naming {version.node_id} and {version.run.node_id if version.run else 'no run'}"
    )
    folder = story.out / "signed-model"
    model_dir = signing.version_materialise(version, folder)
    key = folder / "service-public-key.pem"
    key.write_bytes(signing.trusted_public_keys()[version.signing_key_id])
    cli = str(Path(sys.executable).with_name("model_signing"))
    bundle = str(folder / signing.BUNDLE_NAME)
    check = subprocess.run(  # noqa: S603 (the stock CLI from our venv, on files we just wrote)
        [cli, "verify", "key", "--signature", bundle, "--public_key", str(key), str(model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check.returncode != 0:
        raise RuntimeError(f"model_signing verify failed: {check.stdout}{check.stderr}")
    story.say(f"   stock CLI `model_signing verify key` on {model_dir}: {check.stdout.strip() or 'OK'}")
    # A pickle (protocol 4: PROTO opcode, then an empty dict and STOP) is refused unread.
    try:
        story.api.upload("dana", "/api/v1/models/churn/versions", "artifact", "model.pkl", b"\x80\x04}\x94.")
    except ApiError as refused:
        story.say(f"   a pickle upload is refused ({refused.status}): {refused.body['detail']}")
    else:
        raise RuntimeError("a pickle upload was accepted")


def deploy(story: Story) -> None:
    """5. A deploy request to production, two sign-offs, the deploy job, then predictions."""
    api, say = story.api, story.say
    say("\n== 5. Deploying to production (two sign-offs), then predictions")
    release = api.call("dana", "POST", "/api/v1/releases", deploy_request("production"))
    for check in release["checks"]:
        if check["name"] == "bias_within_threshold":
            say(f"   bias_within_threshold {check['status']}: {check['detail']}")
    for who in ("carla", "colin"):
        sign(api, who, release["id"], story.passwords[who], "approved for production")
    job = api.call("dana", "POST", f"/api/v1/releases/{release['id']}/run")
    deployed = wait_job(api, "dana", job["id"], say)
    if deployed["status"] != "succeeded":
        raise RuntimeError(f"deploy {deployed['status']}: {deployed['error']}")
    rows = [
        {"tenure": 3, "plan": "basic", "monthly_spend": 70.0, "support_calls": 6},
        {"tenure": 60, "plan": "pro", "monthly_spend": 30.0, "support_calls": 0},
    ]
    predicted = api.call("pipe", "POST", "/api/v1/deployments/production/churn/predict", {"rows": rows})
    say(f"   predictions from churn v{predicted['model_version']}: {predicted['predictions']}")


def deploy_request(environment: str) -> dict[str, Any]:
    """The body of a request to deploy churn v1 to ``environment``."""
    return {
        "kind": "deploy",
        "model": "churn",
        "version": 1,
        "environment": environment,
        "metric_thresholds": {"accuracy": 0.6},
        "dpia_reference": "DPIA-2026-014",
        "human_overseer": "colin",
    }
