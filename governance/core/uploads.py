"""Uploaded files counted while they stream in, and refused as soon as one passes its limit.

A view that takes a file names the setting that caps it (``MAX_ARTIFACT_UPLOAD_BYTES``,
``MAX_DATASET_UPLOAD_BYTES``, ``MAX_CONSENT_IMPORT_BYTES``) and calls ``upload_limit`` before anything
reads the body (in ``initial``, so that not even a session's CSRF check parses it first):

1. a ``Content-Length`` that cannot fit under the limit is refused before a byte is read;
2. ``CappedUploadHandler`` goes first among the request's upload handlers and counts each file's bytes
   as Django's multipart parser hands them over; the chunk that passes the limit raises, so the file is
   never written whole to memory or to a temporary file (and the part written is dropped with it);
3. a body read as a raw stream (a ``text/csv`` consent import) is wrapped in ``CappedReader``.

The answer is 413 ``payload_too_large`` naming the setting and its value; nothing is stored because
everything that stores runs after the body has been read.
"""

from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from governance.core.errors import ApplicationError


class UploadTooLarge(ApplicationError):
    """A file (or the body carrying it) larger than its ``MAX_..._BYTES`` setting."""

    code = "payload_too_large"
    status = 413  # RFC 9110 §15.5.14

    def __init__(self, detail: str, *, received: int) -> None:
        super().__init__(detail)
        self.received = received  # bytes counted when it was refused (or the declared Content-Length)


def too_large(setting: str, *, received: int, what: str = "the uploaded file") -> UploadTooLarge:
    limit = int(getattr(settings, setting))
    return UploadTooLarge(
        f"{what} is over {setting}={limit} bytes; send a smaller file or ask the operator to raise {setting}",
        received=received,
    )


class CappedUploadHandler(FileUploadHandler):
    """Refuses a file of a multipart body as soon as it passes ``limit`` bytes (while it streams)."""

    def __init__(self, request: HttpRequest, *, setting: str) -> None:
        super().__init__(request)
        self.setting = setting
        self.limit = int(getattr(settings, setting))

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            raise too_large(self.setting, received=start + len(raw_data))
        return raw_data  # handed on to the next handler (memory or temporary file)

    def file_complete(self, file_size: int) -> None:
        return None  # the handlers after this one build the file


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def upload_handler_install(request: HttpRequest | Any, setting: str) -> None:
    """Step 2 alone: for a view's ``initial``, before authentication (a session's CSRF check reads a
    form body, and that read must be capped too)."""
    request = getattr(request, "_request", request)
    if not any(isinstance(handler, CappedUploadHandler) for handler in request.upload_handlers):
        request.upload_handlers.insert(0, CappedUploadHandler(request, setting=setting))


def upload_limit(request: HttpRequest | Any, setting: str, *, raw_body: bool = False) -> None:
    """Cap each file of ``request``'s body (a Django or DRF request) at ``settings.<setting>`` bytes,
    steps 1 and 2 of the module docstring.

    ``raw_body``: the body may be the file itself (``text/csv``), so its Content-Length is the file's
    size; around a multipart file the other form fields may add up to ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
    """
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    upload_handler_install(request, setting)
    limit = int(getattr(settings, setting))
    length = _content_length(request)
    content_type = request.META.get("CONTENT_TYPE", "")
    multipart = content_type.startswith("multipart/")
    slack = 0 if raw_body and not multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length is not None and length > limit + slack and (multipart or raw_body):
        raise too_large(setting, received=length, what=f"the request body ({length} bytes)")


class CappedReader(io.RawIOBase):
    """A byte stream passed through unchanged, refused once more than ``settings.<setting>`` bytes
    have been read from it (a request body or an upload read as a stream)."""

    def __init__(self, source: IO[bytes] | Any, *, setting: str) -> None:
        self.source = source
        self.setting = setting
        self.limit = int(getattr(settings, setting))
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # Ask for at most one byte past the limit, so an oversize body is never read much further.
        want = max(1, min(len(buffer), self.limit + 1 - self.size))
        chunk = self.source.read(want)
        if not chunk:
            return 0
        self.size += len(chunk)
        if self.size > self.limit:
            raise too_large(self.setting, received=self.size)
        buffer[: len(chunk)] = chunk
        return len(chunk)
