"""JSON log lines (request id, redacted grants), read by base.py."""

from __future__ import annotations

from governance.core import env

# --- Logging -------------------------------------------------------------------------------------------
LOG_LEVEL = env.string("LOG_LEVEL", "INFO")
# The access log (governance/core/access_log.py): a JSON line per request on stderr, whatever LOG_LEVEL
# says; "off" turns it off.
ACCESS_LOG = env.boolean("ACCESS_LOG", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "governance.core.logs.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "governance.core.logs.RedactingJsonFormatter",  # no grant ever reaches a log line
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "line": {"format": "%(message)s"},  # the access log formats its own JSON line
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
        "access": {"class": "logging.StreamHandler", "formatter": "line"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
        "governance.access": {
            "handlers": ["access"],
            "level": "INFO" if ACCESS_LOG else "CRITICAL",
            "propagate": False,
        },
    },
}
