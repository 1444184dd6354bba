"""RFC 8785 canonical JSON: the RFC's own examples plus the edges our log relies on."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import jcs
from audit.jcs import canonical_json, number_to_string

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(bits: str) -> float:
    return float(struct.unpack(">d", bytes.fromhex(bits))[0])


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbers_serialize_as_in_rfc_8785_appendix_b(bits: str, expected: str) -> None:
    assert canonical_json(_double(bits)) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinity_are_rejected(bits: str) -> None:
    with pytest.raises(ValueError):
        canonical_json(_double(bits))


def test_the_section_3_2_2_sample_canonicalizes_to_the_published_bytes() -> None:
    # RFC 8785 §3.2.2 input, parsed as any JSON reader would.
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_properties_sort_by_utf16_code_units_as_in_section_3_2_3() -> None:
    source = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonical_json(source) == expected.encode("utf-8")


def test_only_quote_backslash_and_control_characters_are_escaped() -> None:
    text = '"\\\b\f\n\r\t\x00\x1f\x7f/\u2028<>&é😀'
    assert canonical_json(text) == ('"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f/\u2028<>&é😀"').encode()


def test_output_never_contains_a_raw_newline() -> None:
    assert b"\n" not in canonical_json({"a\nb": ["x\ny", "\r\n"], "nested": {"k": "line1\nline2"}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (100.0, "100"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (123456789.125, "123456789.125"),
        (2**53 - 1, "9007199254740991"),
        (-(2**53 - 1), "-9007199254740991"),
        (True, "true"),
        (None, "null"),
        ([], "[]"),
        ({}, "{}"),
        ((1, "a"), '[1,"a"]'),
    ],
)
def test_scalars_and_empty_containers(value: object, expected: str) -> None:
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize("value", [2**53, -(2**53), 10**30])
def test_integers_beyond_ijson_precision_are_rejected(value: int) -> None:
    with pytest.raises(ValueError):
        canonical_json({"n": value})


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object(), {1: "int key"}, 1j])
def test_non_json_types_are_rejected(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(ValueError):
        canonical_json("\ud800")
    with pytest.raises(ValueError):
        canonical_json({"\udc00": 1})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_output_parses_back_to_the_same_value_and_is_stable(value: object) -> None:
    raw = canonical_json(value)
    # An integral double such as 2.0**53 prints as an integer; reading it back as a double keeps it one.
    parsed = json.loads(raw, parse_int=float)
    assert canonical_json(parsed) == raw
    assert b"\n" not in raw


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_text_round_trips_to_the_same_double(value: float) -> None:
    text = number_to_string(value)
    assert float(text) == value or (value == 0 and float(text) == 0)
    assert not math.isnan(float(text))


ascii_names = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=5)
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.text(alphabet=st.characters(codec="utf-8")),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ascii_names, children, max_size=4),
    max_leaves=20,
)


def _long_way(value: object) -> bytes:
    parts: list[str] = []
    jcs._write(value, parts, 0)
    return "".join(parts).encode("utf-8")


@given(plain_values)
def test_the_fast_path_gives_the_same_bytes_as_the_rfc_8785_writer(value: object) -> None:
    # Values without floats and with ASCII member names go through the standard library's encoder.
    assert jcs._plain(value, 0)
    assert canonical_json(value) == _long_way(value)


@pytest.mark.parametrize(
    "value",
    [1.0, {"a": 0.5}, {"é": 1}, {"\U0001f600": 1, "\ufb33": 2}, {1: "x"}, 2**53, [1, (2, 3.5)]],
)
def test_floats_non_ascii_names_and_odd_keys_take_the_rfc_8785_writer(value: object) -> None:
    assert not jcs._plain(value, 0)


def test_control_characters_and_quotes_are_escaped_alike_on_both_paths() -> None:
    text = "".join(chr(code) for code in range(0x20)) + '"\\/\x7f\u2028é'
    assert canonical_json({"k": text}) == _long_way({"k": text})
