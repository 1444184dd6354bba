"""Access logs without subject ids: ``GET /api/v1/consent/<subject_id>`` carries a person's raw id in
its path, and the server in front of Django writes every path into its access log (gunicorn's
``gunicorn.access``, the development server's ``django.server``, and our own ``governance.access``).
A filter on those loggers rewrites the path segment to ``<subject_id>`` before any handler sees the
record. (The view logs its
own 4xx/5xx answers redacted; see ``ConsentStateApi``.) A proxy in front of the service (nginx, a load
balancer) keeps its own access log: configure it to drop or mask that path segment too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Final

SUBJECT_PATH: Final = re.compile(r"(/api/v1/consent/)(?!import(?:$|[\s?#/]))[^\s?#\"']+")
REDACTED: Final = r"\1<subject_id>"
# gunicorn's, the development server's and our own (governance.core.access_log).
ACCESS_LOGGERS: Final = ("gunicorn.access", "django.server", "governance.access")


def redact(text: str) -> str:
    return SUBJECT_PATH.sub(REDACTED, text)


class RedactSubjectIds(logging.Filter):
    """Masks the subject id in a record's message and arguments (a tuple, or gunicorn's mapping of
    log atoms, changed in place so its lookups of missing atoms keep working)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, MutableMapping):
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = redact(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(value) if isinstance(value, str) else value for value in record.args)
        return True


def install() -> None:
    """Add the filter to the access loggers once (called when the app is ready, in every process)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(one, RedactSubjectIds) for one in logger.filters):
            logger.addFilter(RedactSubjectIds())
