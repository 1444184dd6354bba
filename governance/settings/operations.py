"""Jobs, serving, monitoring and audit committer settings, read by base.py."""

from __future__ import annotations

from governance.core import env

# --- Jobs -------------------------------------------------------------------------------------------------
# A running job touches its heartbeat this often; one silent for JOB_STALE_AFTER_SECONDS is failed by the
# reaper (its worker was killed or lost), audited with the stage it was in.
JOB_HEARTBEAT_SECONDS = env.integer("JOB_HEARTBEAT_SECONDS", 5, minimum=1)
JOB_STALE_AFTER_SECONDS = env.integer("JOB_STALE_AFTER_SECONDS", 120, minimum=2)
# Deployed models kept loaded per process for predictions (least recently used evicted).
SERVING_CACHE_MODELS = env.integer("SERVING_CACHE_MODELS", 8, minimum=1)

# --- Monitoring -------------------------------------------------------------------------------------------
# Share of predict requests whose predictions are logged (as reference bins, never raw values).
MONITORING_SAMPLE_RATE = env.fraction("MONITORING_SAMPLE_RATE", 1.0)
MONITORING_CHECK_EVERY_SECONDS = env.integer("MONITORING_CHECK_EVERY_SECONDS", 3600, minimum=60)
# Drift alarms are POSTed to these URLs (comma-separated), signed with HMAC-SHA256 of the body.
MONITORING_WEBHOOK_URLS = env.string_list("MONITORING_WEBHOOK_URLS", [])
MONITORING_WEBHOOK_MAX_ATTEMPTS = env.integer("MONITORING_WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
MONITORING_WEBHOOK_BACKOFF_SECONDS = env.integer("MONITORING_WEBHOOK_BACKOFF_SECONDS", 30, minimum=1)
MONITORING_WEBHOOK_TIMEOUT_SECONDS = env.integer("MONITORING_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
MONITORING_ALERT_EMAILS = env.string_list("MONITORING_ALERT_EMAILS", [])

# --- Audit committer ---------------------------------------------------------------------------------------
# Group commit for audit appends outside a transaction: the Unix socket of `manage.py audit_committer`
# (audit/handoff.py); empty, each writer queues its own actions. How long a writer waits for its answer.
AUDIT_COMMITTER_SOCKET = env.string("AUDIT_COMMITTER_SOCKET", "")
AUDIT_COMMITTER_TIMEOUT_SECONDS = env.integer("AUDIT_COMMITTER_TIMEOUT_SECONDS", 10, minimum=1)
