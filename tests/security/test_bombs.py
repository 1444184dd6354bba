"""Decompression and line bombs sent to the service under gunicorn (a separate web process, whose memory
is read from /proc): each small Parquet file that decodes to terabytes and each CSV with one enormous
line is refused naming the limit, nothing is stored, and the worker's peak RSS stays under 200 MB above
what it was before the bomb. On SQLite and on PostgreSQL."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from audit.actors import Actor
from governance.accounts import services as accounts
from registry.models import DatasetVersion
from registry.services.datasets import dataset_create
from tests.security import bombs
from tests.support import child_env, free_port, running

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the worker's memory from /proc"),
]

BUDGET_KB = 200 * 1024
SYSTEM = Actor.system("tests")
BOUNDARY = "limits-bomb-boundary"


@contextmanager
def _gunicorn(var: Path, log: Path) -> Iterator[tuple[int, int]]:
    """(port, worker pid) of a one-worker gunicorn serving the test database."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "governance.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--worker-class", "sync", "--timeout", "120"]
    with running(command, child_env(GOVERNANCE_VAR_DIR=str(var)), log) as server:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not come up"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 1, children
        yield port, int(children[0])


def _memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak so far) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _upload(port: int, token: str, dataset: str, name: str, path: Path) -> tuple[int, dict[str, Any]]:
    """POST ``path`` as multipart field ``file``, streamed from disk (the test holds none of it)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as source:
            while chunk := source.read(1024**2):
                yield chunk
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(
        "POST",
        f"/api/v1/datasets/{dataset}/versions",
        body=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
        },
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize(
    ("build", "limit"),
    [
        (lambda path: bombs.parquet_long_value(path.with_suffix(".parquet")), "MAX_PARQUET_ROW_GROUP_BYTES"),
        (lambda path: bombs.parquet_many_rows(path.with_suffix(".parquet")), "MAX_PARQUET_ROWS"),
        (lambda path: bombs.csv_one_long_line(path.with_suffix(".csv")), "MAX_CSV_LINE_BYTES"),
    ],
    ids=["parquet-long-value", "parquet-many-rows", "csv-long-line"],
)
def test_a_bomb_is_refused_naming_its_limit_and_the_web_process_stays_within_200_mb(
    make_user: Any, tmp_path: Path, build: Callable[[Path], Path], limit: str
) -> None:
    user = make_user("dana", "data_scientist")
    _, token = accounts.token_issue(actor=SYSTEM, user=user, name="bomber")
    for name in ("warmup", "customers"):
        dataset_create(actor=SYSTEM, name=name, holds_personal_data=True, subject_id_column="customer_id")
    bomb = build(tmp_path / "bomb")
    small_csv = tmp_path / "small.csv"
    small_csv.write_text("customer_id,spend\n" + "".join(f"CUST-{n:05d}-QX,{n}\n" for n in range(500)))
    small_parquet = bombs.parquet_many_rows(tmp_path / "small.parquet", rows_per_group=500, groups=2)
    var = tmp_path / "var"

    with _gunicorn(var, tmp_path / "gunicorn.log") as (port, worker):
        # Warm up: the code paths the bomb takes are loaded (pandas, pyarrow) before the start is read.
        for index, path in enumerate((small_csv, small_parquet)):
            status, answer = _upload(port, token, "warmup", f"small-{index}{path.suffix}", path)
            assert status == 201, answer
        stored = _files(var / "media")
        start = _memory_kb(worker, "VmRSS")

        status, answer = _upload(port, token, "customers", bomb.name, bomb)

        peak = _memory_kb(worker, "VmHWM")

    assert status in {400, 413}, answer
    assert set(answer) == {"error", "detail"} and limit in answer["detail"], answer
    assert peak - start < BUDGET_KB, f"the worker grew from {start} kB to a peak of {peak} kB"
    assert not DatasetVersion.objects.filter(dataset__name="customers").exists()
    assert _files(var / "media") == stored
