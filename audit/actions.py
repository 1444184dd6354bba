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
