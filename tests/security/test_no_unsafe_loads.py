"""No code path of the service can unpickle (issue 13, acceptance 4): the issue's own search, run in Python.

    grep -rn "joblib.load\\|pickle.load\\|skops.io.load(.*trusted=True" governance/ registry/ audit/

finds nothing. ``pickle.load`` also matches ``pickle.loads``; ``skops.io.load`` with ``trusted=True``
would trust every type the file names, which is pickle again under another name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

PATTERN = re.compile(r"joblib\.load|pickle\.load|skops\.io\.load\(.*trusted=True")
SEARCHED = ("governance", "registry", "audit")


# Reads the source tree, into which a test of tests/test_architecture.py writes a module: one worker.
pytestmark = pytest.mark.xdist_group("architecture")


def _hits(root: Path) -> list[str]:
    found = []
    for top in SEARCHED:
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")  # grep reads every file, text or not
            for number, line in enumerate(text.splitlines(), start=1):
                if PATTERN.search(line):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_code_of_the_service_loads_a_pickle_or_trusts_every_skops_type() -> None:
    assert _hits(Path(settings.BASE_DIR)) == []


def test_the_search_finds_each_form_it_forbids_and_not_an_allow_listed_skops_load(tmp_path: Path) -> None:
    forbidden = {
        "governance/a.py": "model = joblib.load(path)",
        "registry/b.py": "model = pickle.loads(data)",
        "audit/c.txt": "model = pickle.load(handle)",
        "governance/deep/d.py": "model = skops.io.load(path, trusted=True)",
    }
    allowed = {"registry/e.py": "model = skops.io.load(path, trusted=SKOPS_ALLOWED_TYPES)"}
    for name, line in {**forbidden, **allowed}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"{line}\n")
    assert sorted(hit.split(":")[0] for hit in _hits(tmp_path)) == sorted(forbidden)
