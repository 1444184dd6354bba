"""JSON prediction rows as numpy columns and ONNX input tensors: pure (numpy only, no Django).

Every request to a served model passes through here, so rows are checked column by column (one list
comprehension and one type scan per feature) rather than value by value; the slow path that names the
offending row runs only when a check fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np


class RowsInvalid(ValueError):
    """A JSON row that lacks a feature or has a mistyped one; the message names it."""


_NUMBERS: Final = frozenset({int, float})
_NUMBERS_OR_NULL: Final = frozenset({int, float, type(None)})


def _not_objects(rows: Sequence[Any]) -> None:
    for number, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise RowsInvalid(f"rows[{number}]: must be an object of feature values")


def _missing(rows: Sequence[Mapping[str, Any]], names: list[str]) -> RowsInvalid:
    for number, row in enumerate(rows):
        missing = [name for name in names if name not in row]
        if missing:
            return RowsInvalid(f"rows[{number}]: missing feature(s) {', '.join(missing)}")
    return RowsInvalid("rows: a feature is missing")  # not reached: called after a KeyError


def _numbers(name: str, values: list[Any]) -> np.ndarray:
    kinds = set(map(type, values))
    if not kinds <= _NUMBERS_OR_NULL:  # bool is its own type here, so true/false are refused too
        number = next(n for n, value in enumerate(values) if type(value) not in _NUMBERS)
        raise RowsInvalid(f"rows[{number}].{name}: must be a number")
    if not kinds <= _NUMBERS:
        values = [np.nan if value is None else value for value in values]
    try:
        return np.asarray(values, dtype=np.float64)
    except OverflowError:
        number = next(n for n, value in enumerate(values) if abs(value) > 1e308)
        raise RowsInvalid(f"rows[{number}].{name}: the number is too large") from None


def _strings(values: list[Any]) -> np.ndarray:
    if set(map(type, values)) != {str}:
        values = [
            "" if value is None else value if isinstance(value, str) else str(value) for value in values
        ]
    return np.asarray(values, dtype=object)


def rows_columns(schema: Sequence[Mapping[str, Any]], rows: Sequence[Any]) -> dict[str, np.ndarray]:
    """One numpy column per schema field: numbers as float64 (null -> NaN), strings as objects (null -> "").

    Missing categories become "" because that is what the training pipeline's imputer treats as missing.
    """
    if not all(type(row) is dict for row in rows):
        _not_objects(rows)
    names = [item["name"] for item in schema]
    columns: dict[str, np.ndarray] = {}
    for item in schema:
        name = item["name"]
        try:
            values = [row[name] for row in rows]
        except KeyError:
            raise _missing(rows, names) from None
        columns[name] = _numbers(name, values) if item["type"] == "number" else _strings(values)
    return columns


_ONNX_DTYPES: Final = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": object,
}


def onnx_inputs(
    session: Any, schema: Sequence[Mapping[str, Any]], rows: Sequence[Any]
) -> dict[str, np.ndarray]:
    """The session's input tensors for JSON rows: one ``[n, 1]`` tensor per feature when the model's inputs
    are named after the features (as skl2onnx writes them), else every feature stacked into its one input."""
    columns = rows_columns(schema, rows)
    inputs = session.get_inputs()
    names = {item.name for item in inputs}
    if names <= set(columns):
        return {
            item.name: columns[item.name].astype(_ONNX_DTYPES.get(item.type, np.float32)).reshape(-1, 1)
            for item in inputs
        }
    if len(inputs) == 1:
        dtype = _ONNX_DTYPES.get(inputs[0].type, np.float32)
        if dtype is object:
            raise RowsInvalid("the model takes one string tensor; name its input after the feature")
        stacked = np.column_stack([columns[item["name"]] for item in schema]) if columns else np.empty((0, 0))
        return {inputs[0].name: stacked.astype(dtype)}
    raise RowsInvalid(
        f"the model's inputs ({', '.join(sorted(names))}) do not match the input schema's features "
        f"({', '.join(columns)})"
    )


def onnx_predict(session: Any, schema: Sequence[Mapping[str, Any]], rows: Sequence[Any]) -> list[Any]:
    """Labels for JSON rows from an ONNX session (its first output), as plain JSON values."""
    label = session.get_outputs()[0].name
    (labels,) = session.run([label], onnx_inputs(session, schema, rows))
    return np.asarray(labels).reshape(len(rows), -1)[:, 0].tolist()
