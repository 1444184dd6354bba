"""Small model files in each format, made in the test: ONNX and skops (safe), pickles (refused)."""

from __future__ import annotations

import functools
import os
import pickle
from pathlib import Path


@functools.cache
def onnx_bytes(label: str = "y") -> bytes:
    """A tiny valid ONNX model of standard operators: one float feature ``x`` in, ``label`` out (x > 0.5)."""
    import onnx
    from onnx import TensorProto, helper

    threshold = helper.make_tensor("threshold", TensorProto.FLOAT, [1], [0.5])
    graph = helper.make_graph(
        [
            helper.make_node("Greater", ["x", "threshold"], ["above"]),
            helper.make_node("Cast", ["above"], [label], to=TensorProto.INT64),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info(label, TensorProto.INT64, [None, 1])],
        initializer=[threshold],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def onnx_with_custom_op() -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.attacker", 1)]
    )
    model.ir_version = 8
    return model.SerializeToString()


@functools.cache
def skops_bytes() -> bytes:
    """A fitted decision tree on one feature, saved with skops."""
    import pandas as pd
    import skops.io
    from sklearn.tree import DecisionTreeClassifier

    features = pd.DataFrame({"x": [0.0, 1.0, 0.2, 0.9]})
    model = DecisionTreeClassifier(random_state=0).fit(features, [0, 1, 0, 1])
    return bytes(skops.io.dumps(model))


class Marker:
    """Unpickled, this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # pickle calls this: a callable and its arguments
        return (Path.write_text, (self.path, "pickle ran"))


def malicious_pickle(marker: Path, protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    return pickle.dumps(Marker(marker), protocol=protocol)


def skops_naming(type_name: str) -> bytes:
    """A skops file whose schema names ``type_name`` (e.g. ``builtins.eval``) as an object to build."""
    import io
    import json
    import zipfile

    module, _, name = type_name.rpartition(".")
    schema = {
        "__class__": name,
        "__module__": module,
        "__loader__": "ObjectNode",
        "__id__": 1,
        "content": {
            "__class__": "dict",
            "__module__": "builtins",
            "__loader__": "DictNode",
            "__id__": 2,
            "content": {},
            "key_types": {
                "__class__": "list",
                "__module__": "builtins",
                "__loader__": "ListNode",
                "__id__": 3,
                "content": [],
            },
        },
        "protocol": 2,
        "_skops_version": "0.16.0",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()


def marker_path(tmp: Path) -> Path:
    return Path(os.fspath(tmp)) / "pickle-ran.marker"
