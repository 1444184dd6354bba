"""Content-addressed file storage for model artifacts and dataset files, over Django's storage API.

Bytes are hashed while they are spooled in chunks to a temporary file (never held in memory whole),
then saved once under ``artifacts/<sha[:2]>/<sha256>``: the same bytes uploaded twice are stored
once. The backend is whatever ``STORAGES["default"]`` names: ``FileSystemStorage`` under
``MEDIA_ROOT`` by default, an S3-compatible bucket (django-storages) by configuration alone.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from django.core.files import File
from django.core.files.storage import default_storage

CHUNK_SIZE: Final = 1024 * 1024
PREFIX: Final = "artifacts"


@dataclass(frozen=True)
class SpooledFile:
    """An upload copied to a local temporary file, with the SHA-256 and size of its bytes."""

    path: Path
    sha256: str
    size: int


def storage_name_for(sha256: str) -> str:
    return f"{PREFIX}/{sha256[:2]}/{sha256}"


def _chunks(fileobj: IO[bytes] | File) -> Iterator[bytes]:
    if isinstance(fileobj, File):
        yield from fileobj.chunks(CHUNK_SIZE)
        return
    while chunk := fileobj.read(CHUNK_SIZE):
        yield chunk


@contextmanager
def spool(fileobj: IO[bytes] | File) -> Iterator[SpooledFile]:
    """Copy ``fileobj`` to a temporary file in chunks, hashing as it goes; the file goes on exit."""
    with tempfile.NamedTemporaryFile(prefix="governance-upload-", suffix=".part") as tmp:
        digest = hashlib.sha256()
        size = 0
        for chunk in _chunks(fileobj):
            digest.update(chunk)
            tmp.write(chunk)
            size += len(chunk)
        tmp.flush()
        yield SpooledFile(Path(tmp.name), digest.hexdigest(), size)


def save_spooled(spooled: SpooledFile) -> tuple[str, bool]:
    """Save a spooled file under its content address; returns ``(storage_name, newly_stored)``."""
    name = storage_name_for(spooled.sha256)
    if default_storage.exists(name):
        if stored_sha256(name) == spooled.sha256:
            return name, False
        # The stored copy no longer holds the bytes its name promises (damaged or tampered with at
        # rest): replace it with the good bytes just received, rather than keep serving bad ones.
        default_storage.delete(name)
    with spooled.path.open("rb") as handle:
        saved = default_storage.save(name, File(handle, name=spooled.sha256))
    if saved != name:
        # A concurrent upload of the same bytes took the name first (FileSystemStorage then picks an
        # alternative name): the two copies are identical, so keep theirs and drop ours.
        default_storage.delete(saved)
        return name, False
    _keep_private(name)
    return name, True


def _keep_private(storage_name: str) -> None:
    """A local file 0600 in folders 0700 up to the storage root (settings give new ones these modes;
    this also closes folders made before). Object storage: access is the bucket's policy."""
    try:
        path = Path(default_storage.path(storage_name))
    except NotImplementedError:
        return
    root = Path(default_storage.path(""))
    path.chmod(0o600)
    for folder in path.parents:
        if folder != root and root not in folder.parents:
            break
        folder.chmod(0o700)
        if folder == root:
            break


def stored_sha256(storage_name: str) -> str:
    """The SHA-256 of the bytes stored under ``storage_name``, read in chunks."""
    digest = hashlib.sha256()
    with default_storage.open(storage_name, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_stream(fileobj: IO[bytes] | File) -> tuple[str, int, str]:
    """Store a stream content-addressed; returns ``(sha256, size, storage_name)``. Deduplicated."""
    with spool(fileobj) as spooled:
        name, _ = save_spooled(spooled)
        return spooled.sha256, spooled.size, name


def discard(storage_name: str) -> None:
    """Remove a file this request stored, when the row that would have pointed to it was not written."""
    if storage_name:
        default_storage.delete(storage_name)
