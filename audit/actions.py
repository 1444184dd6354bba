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
