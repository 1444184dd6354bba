"""Model artifacts that never run code when loaded: recognising, checking, loading and serving them.

Two forms are accepted, and nothing else:

- **skops** (``skops.io``): a zip whose ``schema.json`` names every type it would build. The names are
  read first (``skops.io.get_untrusted_types``) and compared with :data:`SKOPS_ALLOWED_TYPES`; only then
  is anything built, with exactly that allow-list as ``trusted`` (never "trust all").
- **ONNX**: a protobuf graph of standard operators (``ai.onnx``, ``ai.onnx.ml``), run by onnxruntime.
  Custom-op domains would load native code, and external tensor data would read files from the
  server's disk, so both are refused.

Pickle and joblib files (plain or compressed) are recognised by their opcodes, without ever being
loaded, and refused with a message that says what to send instead.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import pickletools
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from governance.core.errors import ValidationFailed
from registry.models import ArtifactFormat

HEAD_BYTES: Final = 64 * 1024
# ONNX files are parsed whole to be checked; past this size one is refused (protobuf's limit is 2 GiB).
MAX_ONNX_BYTES: Final = 512 * 1024 * 1024
ONNX_DOMAINS: Final = frozenset({"", "ai.onnx", "ai.onnx.ml"})
SEND_INSTEAD: Final = "send ONNX (skl2onnx) or skops (skops.io) instead"

# Types a skops file may name beyond skops' own defaults: what the training job fits (its pipeline,
# column transformer, imputers, encoder and trees) and a few common scikit-learn estimators that hold
# only arrays. Each is built from its state by skops, with no code of the file's choosing.
SKOPS_ALLOWED_TYPES: Final[list[str]] = [
    "numpy.dtype",
    "numpy.ndarray",
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.compose._column_transformer._RemainderColsList",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._base.LinearRegression",
]


class ArtifactRefused(ValidationFailed):
    """A model file the service will not store or load; the message says what is wrong and what to send."""

    code = "artifact_refused"


# --- Recognising ---------------------------------------------------------------------------------------

_COMPRESSED: Final[list[tuple[bytes, Callable[[], Any]]]] = [
    (b"\x1f\x8b", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)),  # gzip
    (b"BZh", bz2.BZ2Decompressor),
    (b"\xfd7zXZ\x00", lzma.LZMADecompressor),  # xz
    (b"\x5d\x00\x00", lzma.LZMADecompressor),  # lzma "alone"
    (b"\x78\x01", zlib.decompressobj),
    (b"\x78\x5e", zlib.decompressobj),
    (b"\x78\x9c", zlib.decompressobj),
    (b"\x78\xda", zlib.decompressobj),
]


def _decompressed_head(head: bytes) -> bytes | None:
    """The first bytes of a compressed stream (bounded: a decompression bomb yields at most HEAD_BYTES)."""
    # joblib's own older container puts "ZF0x" and a length before a zlib stream.
    body = head[head.index(b"x", 2) :] if head.startswith(b"ZF0x") and b"x" in head[2:32] else head
    for magic, make in _COMPRESSED:
        if not body.startswith(magic):
            continue
        decompressor = make()
        try:
            return bytes(decompressor.decompress(body, HEAD_BYTES))
        except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError):
            continue
    return None


def _looks_like_pickle(head: bytes) -> bool:
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO opcode and protocol 2..5
        return True
    # Protocols 0 and 1 have no marker: walk the opcodes (never executing them). A pickle ends in STOP,
    # or, when only its head was read, runs out of bytes near the end of the head.
    count, position = 0, 0
    try:
        for opcode, _argument, offset in pickletools.genops(io.BytesIO(head)):
            count, position = count + 1, offset or 0
            if opcode.name == "STOP":
                return count >= 2
    except Exception:  # genops raises many kinds on junk; junk simply is not a pickle
        return count >= 8 and position >= len(head) - 1024
    return False


def _onnx_model(data: bytes) -> Any | None:
    """The ModelProto ``data`` parses into when it is really a model (protobuf parses much junk)."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError):
        return None
    if model.ir_version <= 0 or not model.opset_import or not model.HasField("graph"):
        return None
    if not model.graph.node or not model.graph.output:
        return None
    return model


def recognise(head: bytes) -> str:
    """``"pickle"``, ``"skops"``, ``"onnx"`` or ``"unknown"`` for the first bytes of a file (or all of them).

    Nothing is loaded: pickles are recognised by their opcodes (also inside gzip, bz2, xz, lzma or zlib,
    as joblib writes them), skops by its zip's ``schema.json``, ONNX by parsing the protobuf.
    """
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(head)) as archive:
                return "skops" if "schema.json" in archive.namelist() else "unknown"
        except zipfile.BadZipFile:  # only the head of a large zip: look at its local file headers
            return "skops" if b"schema.json" in head else "unknown"
    if _looks_like_pickle(head):
        return "pickle"
    inner = _decompressed_head(head)
    if inner is not None and (_looks_like_pickle(inner) or recognise(inner) == "pickle"):
        return "pickle"
    if _onnx_model(head) is not None:
        return "onnx"
    return "unknown"


# --- Checking --------------------------------------------------------------------------------------------


def skops_untrusted(path: Path) -> list[str]:
    """The types a skops file names that are outside :data:`SKOPS_ALLOWED_TYPES` (nothing is built)."""
    import skops.io

    try:
        named = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # any failure to read the schema is a refusal, said plainly
        raise ArtifactRefused(f"artifact: the skops file cannot be read ({exc}); {SEND_INSTEAD}") from exc
    allowed = set(SKOPS_ALLOWED_TYPES)
    return sorted(name for name in named if name not in allowed)


def _onnx_nodes(nodes: Iterable[Any]) -> Iterator[Any]:
    """Every node, also those inside subgraphs (If, Loop, Scan bodies) held in node attributes."""
    for node in nodes:
        yield node
        for attribute in node.attribute:
            graphs = [attribute.g] if attribute.HasField("g") else []
            for graph in [*graphs, *attribute.graphs]:
                yield from _onnx_nodes(graph.node)


def _onnx_tensors(model: Any) -> Iterator[Any]:
    """Every tensor a model carries: initializers, sparse ones, and those in node attributes anywhere
    (a Constant node's value can point at an external file as well as an initializer can)."""
    yield from model.graph.initializer
    for sparse in model.graph.sparse_initializer:
        yield from (sparse.values, sparse.indices)
    for node in _onnx_nodes([*model.graph.node, *(n for f in model.functions for n in f.node)]):
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def onnx_refusal(model: Any) -> str:
    """Why an ONNX model is refused ("" when it is not): custom-op domains or external tensor data,
    looked for in every graph, subgraph and function of the model."""
    import onnx

    nodes = _onnx_nodes([*model.graph.node, *(n for f in model.functions for n in f.node)])
    domains = {item.domain for item in model.opset_import} | {node.domain for node in nodes}
    domains |= {function.domain for function in model.functions}
    custom = sorted(domains - ONNX_DOMAINS)
    if custom:
        return (
            f"artifact: the ONNX model uses custom-op domain(s) {', '.join(custom)}; only the standard "
            "operators (ai.onnx, ai.onnx.ml) are run here"
        )
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in _onnx_tensors(model)):
        return "artifact: the ONNX model keeps tensors in external files; save it with all data inside"
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        return f"artifact: the ONNX model is not valid ({str(exc).splitlines()[0]})"
    return ""


def artifact_check(path: Path) -> ArtifactFormat:
    """The safe format of the file at ``path``; raises ArtifactRefused naming what is wrong. Loads nothing."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    kind = recognise(head)
    if kind == "unknown" and head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:  # schema.json may sit past the head of a large skops zip
            kind = "skops" if "schema.json" in archive.namelist() else kind
    if kind == "pickle":
        raise ArtifactRefused(
            "artifact: recognised as a Python pickle (joblib or pickle file); loading one runs code, so "
            f"pickles are never accepted: {SEND_INSTEAD}"
        )
    if kind == "skops":
        if not zipfile.is_zipfile(path):
            raise ArtifactRefused(f"artifact: the skops zip is damaged; {SEND_INSTEAD}")
        untrusted = skops_untrusted(path)
        if untrusted:
            raise ArtifactRefused(
                f"artifact: the skops file names type(s) outside the allow-list: {', '.join(untrusted)}; "
                "only the service's scikit-learn estimators, transformers and numpy types are loaded"
            )
        return ArtifactFormat.SKOPS
    if kind == "unknown" and path.stat().st_size <= MAX_ONNX_BYTES:
        model = _onnx_model(path.read_bytes())
        if model is not None:
            kind = "onnx"
    if kind == "onnx":
        model = _onnx_model(path.read_bytes())
        reason = onnx_refusal(model) if model is not None else "artifact: the ONNX model cannot be parsed"
        if reason:
            raise ArtifactRefused(reason)
        return ArtifactFormat.ONNX
    raise ArtifactRefused(f"artifact: not a model file this service recognises; {SEND_INSTEAD}")


# --- Loading ---------------------------------------------------------------------------------------------


def skops_load(path: Path) -> Any:
    """A fitted scikit-learn pipeline or estimator from a skops file, built only from allowed types."""
    import skops.io
    from sklearn.base import BaseEstimator

    untrusted = skops_untrusted(path)
    if untrusted:
        raise ArtifactRefused(
            f"artifact: the skops file names type(s) outside the allow-list: {', '.join(untrusted)}"
        )
    loaded = skops.io.load(path, trusted=list(SKOPS_ALLOWED_TYPES))
    if not isinstance(loaded, BaseEstimator) or not hasattr(loaded, "predict"):
        raise ArtifactRefused("artifact: the skops file holds no scikit-learn estimator with predict")
    return loaded


class _SessionCache:
    def __init__(self) -> None:
        self.sessions: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()


_sessions = _SessionCache()


def onnx_session_cached(sha256: str) -> Any | None:
    """The session already made for these bytes, if any (no hashing, no I/O)."""
    with _sessions.lock:
        session = _sessions.sessions.get(sha256)
        if session is not None:
            _sessions.sessions.move_to_end(sha256)
        return session


def onnx_session(path_or_bytes: Path | bytes, sha256: str, *, keep: int = 8) -> Any:
    """An onnxruntime session for an ONNX model whose bytes hash to ``sha256``, made once per hash.

    The bytes are hashed and checked (format, custom ops) before onnxruntime sees them; ``keep``
    sessions stay cached (least recently used evicted). One intra-op thread: requests are the parallelism.
    """
    cached = onnx_session_cached(sha256)
    if cached is not None:
        return cached
    import onnxruntime

    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ArtifactRefused(f"artifact: the ONNX bytes hash to {actual}, but {sha256} was pinned")
    model = _onnx_model(data)
    reason = onnx_refusal(model) if model is not None else "artifact: not an ONNX model"
    if reason:
        raise ArtifactRefused(reason)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    with _sessions.lock:
        _sessions.sessions[sha256] = session
        while len(_sessions.sessions) > keep:
            _sessions.sessions.popitem(last=False)
    return session
