"""The closed set of audit action codes. A code is never renamed or reused: add new ones at the end."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGOUT = "auth.logout"
    USER_CREATE = "user.create"
    USER_ROLES_CHANGE = "user.roles_change"
    USER_PASSWORD_CHANGE = "user.password_change"
    TOKEN_ISSUE = "token.issue"
    TOKEN_REVOKE = "token.revoke"
    ADMIN_ADD = "admin.add"
    ADMIN_CHANGE = "admin.change"
    ADMIN_DELETE = "admin.delete"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY_FAILED = "audit.verify_failed"
    AUDIT_KEY_ROTATE = "audit.key_rotate"
    MODEL_CREATE = "model.create"
    MODEL_UPDATE = "model.update"
    MODEL_ARCHIVE = "model.archive"
    MODEL_VERSION_CREATE = "model_version.create"
    MODEL_VERSION_UPDATE = "model_version.update"
    MODEL_VERSION_ARCHIVE = "model_version.archive"
    DATASET_CREATE = "dataset.create"
    DATASET_UPDATE = "dataset.update"
    DATASET_ARCHIVE = "dataset.archive"
    DATASET_VERSION_CREATE = "dataset_version.create"
    DATASET_VERSION_ARCHIVE = "dataset_version.archive"
    RUN_CREATE = "run.create"
    RUN_UPDATE = "run.update"
    DEPLOYMENT_CREATE = "deployment.create"
    DEPLOYMENT_END = "deployment.end"
    LINEAGE_EVENT_INGEST = "lineage.event_ingest"
    LINEAGE_REPORT_EXPORT = "lineage.report_export"
    # A model version's technical documentation (EU AI Act Art. 11, Annex IV) exported, in any format.
    TECHNICAL_DOCUMENTATION_EXPORT = "report.technical_documentation"
    # Consent and data-subject rights (GDPR, CCPA/CPRA).
    CONSENT_NOTICE_CREATE = "consent.notice_create"
    CONSENT_RECORD = "consent.record"
    CONSENT_IMPORT = "consent.import"
    PRIVACY_REQUEST_CREATE = "privacy_request.create"
    PRIVACY_REQUEST_STATUS = "privacy_request.status"
    PRIVACY_REQUEST_IMPACT = "privacy_request.impact"
    PRIVACY_REQUEST_ERASE_ROWS = "privacy_request.erase_rows"
    ERASURE_EXEMPTION = "privacy_request.exemption"
    # Release approvals.
    POLICY_CREATE = "policy.create"
    POLICY_UPDATE = "policy.update"
    RELEASE_CREATE = "release.create"
    RELEASE_SIGN = "release.sign"
    RELEASE_SIGN_FAILED = "release.sign_failed"
    RELEASE_SIGNING_LOCKED = "release.signing_locked"
    RELEASE_APPROVAL_REVOKE = "release.approval_revoke"
    RELEASE_WITHDRAW = "release.withdraw"
    GRANT_ISSUE = "grant.issue"
    # Jobs run by workers.
    JOB_ENQUEUE = "job.enqueue"
    JOB_REFUSE = "job.refuse"
    JOB_START = "job.start"
    JOB_COMPLETE = "job.complete"
    JOB_FAIL = "job.fail"
    MODEL_ALIAS_MOVE = "model.alias_move"
    DEPLOYMENT_STOP = "deployment.stop"
    # Release approvals, continued.
    GRANT_CLAIM = "grant.claim"
    # Monitoring deployed models (drift, labels, alarms, notifications).
    MONITORING_PROFILE_CREATE = "monitoring.profile_create"
    MONITORING_LABELS_RECORD = "monitoring.labels_record"
    MONITORING_CHECK = "monitoring.check"
    MONITORING_ALARM = "monitoring.alarm"
    MONITORING_WEBHOOK_ATTEMPT = "monitoring.webhook_attempt"
    # The MLflow-compatible registry API (its writes use the registry's codes above).
    MLFLOW_READ = "mlflow.read"  # no longer written (reads are access-log lines); older entries hold it
    MLFLOW_REFUSE = "mlflow.refuse"
    # Model artifacts: a file refused at the door or at load, the key that signs artifacts rotated.
    MODEL_ARTIFACT_REFUSE = "model_artifact.refuse"
    MODEL_SIGNING_KEY_ROTATE = "model_signing.key_rotate"
    # Sign-in lock-out (django-axes) and an administrator lifting a person's sign-in and signing locks.
    AUTH_LOGIN_LOCKED_OUT = "auth.login_locked_out"
    USER_UNLOCK = "user.unlock"
    # A release request's automated checks gave a different answer when run again (page, signing, worker).
    RELEASE_CHECKS_CHANGE = "release.checks_change"
    # A risk level change refused to a non-officer; a release request refused when it was filed.
    MODEL_RISK_LEVEL_REFUSE = "model.risk_level_refuse"
    RELEASE_REFUSE = "release.refuse"
    RELEASE_SIGN_REFUSE = "release.sign_refuse"  # a signature refused for separation of duties
    # Reads of personal data (issue 18): one entry per request that showed it, pseudonymous ids only.
    # Reads of registry metadata are access-log lines instead (governance.core.access_log).
    CONSENT_READ = "consent.read"  # a subject's consent state or ledger
    SUBJECT_LOOKUP = "subject.lookup"  # the console search found a data subject
    PRIVACY_REQUEST_READ = "privacy_request.read"  # a request's detail, its answer, or a page of the list
    AUDIT_READ = "audit.read"  # audit entries read: one entry, or a range
