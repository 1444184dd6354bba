"""The part of the log kept OUTSIDE the database: signed checkpoints, the leaf-hash record they cover,
and the published verifier keys. A rogue DBA can rewrite tables but not these files, so verification
against them pins any rewrite to its index. In production the directory is a volume shared by every
web and worker process (see docker-compose.yml); a signer or witness service can replace it later.

Layout of ``AUDIT_STORE_DIR``::

    checkpoints/<tree size, 20 digits>.txt   one signed note each (C2SP tlog-checkpoint)
    leaf-hashes.bin                          32-byte RFC 9162 leaf hashes for [0, latest checkpoint)
    keys.txt                                 "<verifier key> valid_from=<UTC> [valid_until=<UTC>]" per line
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from audit.merkle import HASH_SIZE


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    note: str


class CheckpointStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or settings.AUDIT_STORE_DIR)
        self.checkpoint_dir = self.root / "checkpoints"
        self.leaf_file = self.root / "leaf-hashes.bin"
        self.keys_file = self.root / "keys.txt"

    def ensure(self) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)

    # --- checkpoints -------------------------------------------------------------------------------
    def checkpoint_sizes(self) -> list[int]:
        if not self.checkpoint_dir.exists():
            return []
        return sorted(int(p.stem) for p in self.checkpoint_dir.glob("*.txt") if p.stem.isdigit())

    def checkpoints(self) -> list[StoredCheckpoint]:
        return [self.read_checkpoint(size) for size in self.checkpoint_sizes()]

    def latest(self) -> StoredCheckpoint | None:
        sizes = self.checkpoint_sizes()
        return self.read_checkpoint(sizes[-1]) if sizes else None

    def read_checkpoint(self, size: int) -> StoredCheckpoint:
        return StoredCheckpoint(size, (self.checkpoint_dir / f"{size:020d}.txt").read_text(encoding="utf-8"))

    def write_checkpoint(self, size: int, note: str) -> None:
        self.ensure()
        _atomic_write(self.checkpoint_dir / f"{size:020d}.txt", note.encode("utf-8"))

    # --- leaf hashes -------------------------------------------------------------------------------
    def leaf_count(self) -> int:
        return self.leaf_file.stat().st_size // HASH_SIZE if self.leaf_file.exists() else 0

    def leaf_hashes(self) -> bytes:
        return self.leaf_file.read_bytes() if self.leaf_file.exists() else b""

    def append_leaf_hashes(self, start: int, hashes: bytes) -> None:
        """Append hashes for indices [start, ...); what is already recorded is never rewritten."""
        self.ensure()
        have = self.leaf_count()
        if start > have:
            raise ValueError(f"leaf-hash record has {have} hashes; cannot append from index {start}")
        skip = (have - start) * HASH_SIZE
        with self.leaf_file.open("ab") as handle:
            # A crash mid-write leaves a partial hash; truncate to whole hashes before appending.
            handle.truncate(have * HASH_SIZE)
            handle.write(hashes[skip:])
            handle.flush()
            os.fsync(handle.fileno())

    # --- verifier keys -----------------------------------------------------------------------------
    def key_lines(self) -> list[str]:
        if not self.keys_file.exists():
            return []
        lines = self.keys_file.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if line.strip() and not line.startswith("#")]

    def write_key_lines(self, lines: list[str]) -> None:
        self.ensure()
        _atomic_write(self.keys_file, ("\n".join(lines) + "\n").encode("utf-8"))


def _atomic_write(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
