"""The audit bundle: its layout, reading a zip or the same tree unzipped into a folder alike, and the
one writer the exporter and tests share. Django-free."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from audit.merkle import HASH_SIZE

BUNDLE_FORMAT = "audit-bundle/1"
BUNDLE_DIR = "audit/"
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.json"
KEYS = "keys.txt"
LEAF_HASHES = "leaf-hashes.bin"
PROOFS = "proofs.json"

_CHUNK = 4096
_READ_SIZE = 1 << 20


class BundleError(Exception):
    """The bundle cannot be read."""


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_ZIP64_LIMIT = 0xFFFFFFFF


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def _zip64_sizes(extra: bytes, original: int, compressed: int) -> tuple[int, int] | None:
    """The sizes a local header means: zip64 values replace the 0xFFFFFFFF fields, in APPNOTE order."""
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, position)
        if kind == 0x0001:
            wanted = [original == _ZIP64_LIMIT, compressed == _ZIP64_LIMIT]
            if length != 8 * sum(wanted) or position + 4 + length > len(extra):
                return None
            values = list(struct.unpack_from(f"<{sum(wanted)}Q", extra, position + 4))
            if wanted[0]:
                original = values.pop(0)
            if wanted[1]:
                compressed = values.pop(0)
            return original, compressed
        position += 4 + length
    return (original, compressed) if _ZIP64_LIMIT not in (original, compressed) else None


def _check_local_headers(path: Path, members: Sequence[zipfile.ZipInfo]) -> None:
    """Every field a member's local header repeats must agree with the central directory.

    zipfile trusts the central directory and checks the CRC-32 of the data, so without this a flipped
    byte in a local header (its copy of the sizes, CRC, time or the zip64 sizes) would go unnoticed.
    """
    with path.open("rb") as handle:
        for info in members:
            handle.seek(info.header_offset)
            raw = handle.read(_LOCAL_HEADER.size)
            if len(raw) != _LOCAL_HEADER.size:
                raise BundleError(f"truncated local header for {info.filename}")
            (
                signature,
                version,
                flags,
                method,
                time,
                date,
                crc,
                compressed,
                original,
                name_length,
                extra_length,
            ) = _LOCAL_HEADER.unpack(raw)
            name = handle.read(name_length)
            extra = handle.read(extra_length)
            expected_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            fields_agree = (
                signature == b"PK\x03\x04"
                and name == expected_name
                and version == info.extract_version
                and flags == info.flag_bits
                and method == info.compress_type
                and (time, date) == _dos_time(info.date_time)
            )
            if flags & 0x08:
                # Sizes and CRC follow the data in a descriptor; the CRC-32 of the data is still checked.
                sizes_agree = crc in (0, info.CRC)
            else:
                sizes = _zip64_sizes(extra, original, compressed)
                sizes_agree = crc == info.CRC and sizes == (info.file_size, info.compress_size)
            if not (fields_agree and sizes_agree):
                raise BundleError(f"the local header of {info.filename} disagrees with the zip directory")


AUDIT_FILES = frozenset({MANIFEST, ENTRIES, CHECKPOINTS, KEYS, LEAF_HASHES, PROOFS})


@dataclass(frozen=True)
class Attachment:
    """A file of a bundle that is not one of its own ``audit/`` files (a report's renderings)."""

    shown: str  # its path inside the zip or below the folder given, as the auditor sees it
    name: str | None  # its path below the report root, the name an entry attests; None outside the root


class Bundle:
    """An opened audit bundle, a zip or the same tree unzipped into a folder; both read alike.

    The audit files sit in ``audit/`` at the report root: the top of the zip or folder, or a folder
    further down (a report zipped or unzipped inside its own folder); the ``audit/`` folder alone may
    be given too. Entries are streamed, the rest of the audit files is read eagerly; every other file
    becomes an :class:`Attachment` for :func:`audit.verify.files.check_attachments`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._audit_prefix = ""  # the audit files' names start with it ("audit/", "report/audit/" or "")
        self.root = ""  # the report root, as a prefix of shown names ("" or "report/")
        self.unterminated = False
        self.layout_problems: list[str] = []
        try:
            names = self._folder_names() if self.path.is_dir() else self._zip_names()
            self._audit_prefix = self._find_prefix(names)
            audit_rel = BUNDLE_DIR if self._audit_prefix else ""
            self.root = self._audit_prefix[: len(self._audit_prefix) - len(audit_rel)]
            self.attachments = self._attachments(names, audit_rel)
            self.manifest = self._json(MANIFEST)
            if not isinstance(self.manifest, dict) or self.manifest.get("format") != BUNDLE_FORMAT:
                raise BundleError(f"{MANIFEST} is not an {BUNDLE_FORMAT} manifest")
            notes = self._json(CHECKPOINTS)
            if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
                raise BundleError(f"{CHECKPOINTS} must be a JSON list of signed notes")
            self.checkpoints: list[str] = notes
            keys = self._read(KEYS)
            self.keys = keys.decode("utf-8").splitlines() if keys is not None else []
            self.leaf_hashes = self._read(LEAF_HASHES, required=False)
            proofs = self._json(PROOFS, required=False) or {}
            if not isinstance(proofs, dict):
                raise BundleError(f"{PROOFS} must be a JSON object")
            self.inclusion_proofs: list[Mapping[str, Any]] = list(proofs.get("inclusion") or [])
            self.consistency_proofs: list[Mapping[str, Any]] = list(proofs.get("consistency") or [])
        except BundleError:
            self.close()
            raise
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, EOFError) as exc:
            self.close()
            raise BundleError(f"unreadable bundle {self.path}: {exc}") from exc

    def _zip_names(self) -> list[str]:
        self._zip = zipfile.ZipFile(self.path)
        members = self._zip.infolist()
        _check_local_headers(self.path, members)
        names = [info.filename for info in members if not info.is_dir()]
        # zipfile reads the last of two members of one name, another tool may show the first.
        for name, count in sorted(Counter(names).items()):
            if count > 1:
                self.layout_problems.append(f"{name} appears {count} times in the zip")
        return names

    def _folder_names(self) -> list[str]:
        names: list[str] = []
        for folder, subfolders, files in os.walk(self.path):
            subfolders.sort()
            here = Path(folder)
            base = here.relative_to(self.path)
            # A link to a folder is not walked into; it is listed, so that it is reported.
            linked = [name for name in subfolders if (here / name).is_symlink()]
            names.extend((base / name).as_posix() for name in sorted([*files, *linked]))
        return names

    def _find_prefix(self, names: Sequence[str]) -> str:
        """Where the audit files are: ``audit/`` at the top or further down (a report zipped or
        unzipped inside its own folder), the shallowest if several; else the top itself when it holds
        the manifest (the ``audit/`` folder alone was given)."""
        candidates = [
            name[: -len(MANIFEST)]
            for name in names
            if name == BUNDLE_DIR + MANIFEST or name.endswith("/" + BUNDLE_DIR + MANIFEST)
        ]
        if candidates:
            return min(candidates, key=len)
        if MANIFEST in names:
            return ""
        raise BundleError(f"no {BUNDLE_DIR}{MANIFEST} in {self.path}")

    def _attachments(self, names: Iterable[str], audit_rel: str) -> list[Attachment]:
        attachments = []
        for shown in names:
            name = shown[len(self.root) :] if shown.startswith(self.root) else None
            if name is not None and name.startswith(audit_rel) and name[len(audit_rel) :] in AUDIT_FILES:
                continue
            attachments.append(Attachment(shown, name))
        return attachments

    def _open(self, name: str) -> IO[bytes] | None:
        if self._zip is not None:
            try:
                return self._zip.open(self._audit_prefix + name)
            except KeyError:
                return None
        path = self.path / (self._audit_prefix + name)
        return path.open("rb") if path.is_file() else None

    def _read(self, name: str, *, required: bool = True) -> bytes | None:
        handle = self._open(name)
        if handle is None:
            if required:
                raise BundleError(f"bundle has no {BUNDLE_DIR}{name}")
            return None
        with handle:
            return handle.read()

    def _json(self, name: str, *, required: bool = True) -> Any:
        data = self._read(name, required=required)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BundleError(f"{name} is not valid JSON: {exc}") from None

    def sha256(self, attachment: Attachment) -> str:
        """The SHA-256 of an attachment's content, streamed; raises OSError or a zip error."""
        digest = hashlib.sha256()
        if self._zip is not None:
            handle: IO[bytes] = self._zip.open(attachment.shown)
        else:
            handle = (self.path / attachment.shown).open("rb")
        with handle:
            while block := handle.read(_READ_SIZE):
                digest.update(block)
        return digest.hexdigest()

    @property
    def origin(self) -> str | None:
        origin = self.manifest.get("origin")
        return origin if isinstance(origin, str) else None

    @property
    def complete(self) -> bool:
        kind = self.manifest.get("kind")
        if kind not in ("full", "partial"):
            raise BundleError(f"manifest kind {kind!r} is neither 'full' nor 'partial'")
        return bool(kind == "full")

    def entries(self) -> Iterator[bytes]:
        """Each entry's exact bytes; a read error (bad CRC, corrupt deflate stream) raises BundleError."""
        handle = self._open(ENTRIES)
        if handle is None:
            raise BundleError(f"bundle has no {BUNDLE_DIR}{ENTRIES}")
        try:
            with handle:
                pending = b""
                while True:
                    block = handle.read(_READ_SIZE)
                    if not block:
                        break
                    lines = (pending + block).split(b"\n")
                    pending = lines.pop()
                    yield from lines
                if pending:
                    self.unterminated = True
                    yield pending
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise BundleError(f"cannot read {ENTRIES}: {exc}") from exc

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_entries(archive: zipfile.ZipFile, entries: Iterable[bytes]) -> int:
    """Stream the entries, one per line, in batches; returns how many were written."""
    count = 0
    with archive.open(BUNDLE_DIR + ENTRIES, "w", force_zip64=True) as stream:
        batch: list[bytes] = []
        for entry in entries:
            raw = bytes(entry)
            if b"\n" in raw:
                raise ValueError(f"entry {count} contains a newline byte")
            batch.append(raw)
            batch.append(b"\n")
            count += 1
            if len(batch) >= 2 * _CHUNK:
                stream.write(b"".join(batch))
                batch.clear()
        stream.write(b"".join(batch))
    return count


# One keyword per part of an audit bundle (entries, checkpoints, keys, leaf hashes, attachments, ...).
def write_bundle(  # noqa: PLR0913
    path: str | os.PathLike[str],
    *,
    origin: str,
    kind: str,
    entries: Iterable[bytes],
    checkpoints: Sequence[str],
    keys: Sequence[str],
    leaf_hashes: bytes | None = None,
    proofs: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> None:
    """Write an audit bundle zip (deflate) atomically: the one writer the exporter and tests share.

    ``extra_files`` (name → bytes, outside ``audit/``) lets a lineage report carry its bundle.
    """
    if kind not in ("full", "partial"):
        raise ValueError(f"bundle kind must be 'full' or 'partial', not {kind!r}")
    if leaf_hashes is not None and len(leaf_hashes) % HASH_SIZE:
        raise ValueError("leaf hashes must be a whole number of 32-byte hashes")
    target = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            count = _write_entries(archive, entries)
            archive.writestr(BUNDLE_DIR + CHECKPOINTS, json.dumps(list(checkpoints), indent=2) + "\n")
            archive.writestr(BUNDLE_DIR + KEYS, "".join(f"{line}\n" for line in keys))
            if leaf_hashes is not None:
                # Hashes do not compress; storing them keeps the record byte-for-byte inspectable.
                archive.writestr(
                    BUNDLE_DIR + LEAF_HASHES, bytes(leaf_hashes), compress_type=zipfile.ZIP_STORED
                )
            if proofs is not None:
                archive.writestr(BUNDLE_DIR + PROOFS, json.dumps(dict(proofs), indent=1) + "\n")
            manifest = {
                "format": BUNDLE_FORMAT,
                "origin": origin,
                "kind": kind,
                "entries": count,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            archive.writestr(BUNDLE_DIR + MANIFEST, json.dumps(manifest, indent=2) + "\n")
            for name, content in (extra_files or {}).items():
                if name.startswith(BUNDLE_DIR):
                    raise ValueError(f"extra file {name!r} may not live inside {BUNDLE_DIR}")
                archive.writestr(name, content)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
