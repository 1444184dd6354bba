"""The governed story ``make demo`` tells over the running service's HTTP API, as its users would.

A dataset with consent (some withdrawn, some opted out by the GPC header) → a training request → two
sign-offs → training in the worker → a deploy request → two sign-offs → deploy → predictions → drift
and a retraining request → an erasure request that marks the model affected and blocks its redeploy →
the lineage report and the audit bundle, both verified offline. Every step prints what happened;
files land in ``var/demo/``. The chapters are in ``chapters_release.py`` (1-5) and
``chapters_oversight.py`` (6-8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from governance.demo import chapters_oversight, chapters_release
from governance.demo.chapters_release import Story
from governance.demo.client import Api, ApiError, Say
from governance.demo.data import customers_csv

__all__ = ["Api", "ApiError", "customers_csv", "run_story"]  # run.py and bench/serving.py use these


def run_story(api: Api, passwords: dict[str, str], var_dir: Path, say: Say) -> dict[str, Any]:
    """Tell the story's eight chapters in order; returns the model's node id and the verified files."""
    out = var_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    story = Story(api=api, passwords=passwords, out=out, say=say)
    version = chapters_release.dataset(story)
    chapters_release.consent(story, version)
    training = chapters_release.training_request(story, version)
    model_node = chapters_release.training(story, training)
    chapters_release.deploy(story)
    retrain = chapters_oversight.monitoring(story)
    chapters_oversight.erasure(story, retrain)
    return {"model": model_node, **chapters_oversight.audit_files(story)}
