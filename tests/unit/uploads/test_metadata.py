from __future__ import annotations

import math
from collections import OrderedDict

import pytest

from nexus_async import DuplicateFilenameError, InvalidInputError, InvalidMetadataError
from nexus_async.uploads.metadata import (
    FilenameRegistry,
    NameHashSet,
    validate_custom_metadata,
    validate_filename,
)


class FloatSubclass(float):
    pass


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, {}),
        ({}, {}),
        (
            {"capturedAt": 1698402314, "latitude": 1.2796709, "ok": True, "name": "cam"},
            {"capturedAt": 1698402314, "latitude": 1.2796709, "ok": True, "name": "cam"},
        ),
        (OrderedDict(a=False), {"a": False}),
        ({"f": FloatSubclass(0.5)}, {"f": 0.5}),
        ({"unicode": "é" * 10}, {"unicode": "é" * 10}),
    ],
)
def test_valid(given: object, expected: dict[str, object]) -> None:
    cleaned = validate_custom_metadata(given)
    assert cleaned == expected
    assert all(type(v) in (str, int, float, bool) for v in cleaned.values())
    assert cleaned is not given


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"gps": {"lat": 1.0}}, "'gps': nested dict"),
        ({"tags": ["a"]}, "'tags': nested list"),
        ({"t": (1, 2)}, "'t': nested tuple"),
        ({"none": None}, "'none': values must be str, int, float or bool, not NoneType"),
        ({"b": b"x"}, "'b': values must be"),
        ({"nan": math.nan}, "'nan'.*finite"),
        ({"inf": -math.inf}, "'inf'.*finite"),
        ({1: "x"}, "keys must be str"),
        ({"": "x"}, "must not be empty"),
        (["a"], "must be a mapping"),
        ("text", "must be a mapping"),
    ],
)
def test_invalid(given: object, match: str) -> None:
    with pytest.raises(InvalidMetadataError, match=match):
        validate_custom_metadata(given)


def test_size_cap() -> None:
    just_fits = {"k": "x" * (4096 - len('{"k":""}'))}
    assert validate_custom_metadata(just_fits) == just_fits
    with pytest.raises(InvalidMetadataError, match="4097 bytes serialised, over the limit of 4096"):
        validate_custom_metadata({"k": "x" * (4097 - len('{"k":""}'))})
    with pytest.raises(InvalidMetadataError, match="over the limit of 10"):
        validate_custom_metadata({"key": "value"}, max_bytes=10)
    assert validate_custom_metadata({"k": "x" * 10_000}, max_bytes=None)


def test_invalid_metadata_is_an_input_error() -> None:
    assert issubclass(InvalidMetadataError, InvalidInputError)
    assert issubclass(InvalidMetadataError, ValueError)


def test_registry() -> None:
    names = FilenameRegistry()
    names.add("a.png")
    names.add("A.png")
    with pytest.raises(DuplicateFilenameError, match=r"same name, a\.png") as info:
        names.add("a.png")
    assert info.value.filename == "a.png"
    assert "a.png" in names
    assert len(names) == 2
    names.discard("a.png")
    names.add("a.png")
    assert sorted(names) == ["A.png", "a.png"]


@pytest.mark.parametrize("bad", ["", "  ", "a/b.png", "a\\b.png", "..", "x\0.png"])
def test_filenames(bad: str) -> None:
    assert validate_filename("frame 1.jpg") == "frame 1.jpg"
    with pytest.raises(InvalidInputError):
        validate_filename(bad)


def test_name_hash_set_adds_all_or_nothing() -> None:
    names = NameHashSet(capacity=2)
    names.add_all(["a.png", "A.png"])
    with pytest.raises(DuplicateFilenameError, match=r"same name, a\.png") as info:
        names.add_all(["new.png", "a.png"])
    assert info.value.filename == "a.png"
    assert "new.png" not in names  # refused whole
    with pytest.raises(DuplicateFilenameError, match=r"twice\.png"):
        names.add_all(["twice.png", "twice.png"])
    assert "twice.png" not in names
    assert len(names) == 2
    assert "a.png" in names
    assert "b.png" not in names
    assert 3 not in names


def test_name_hash_set_costs_at_most_20_bytes_a_name_however_long() -> None:
    names = NameHashSet()
    count = 0
    for batch in range(20):
        long = [f"{'very-long-folder-name-' * 8}{batch}-{i}.png" for i in range(5000)]
        names.add_all(long)
        count += len(long)
        assert len(names) == count
        assert names.nbytes <= max(20 * count, 8 * 1024)
    assert all(name in names for name in long)
    assert f"{'very-long-folder-name-' * 8}0-5000.png" not in names


@pytest.mark.parametrize("capacity", [0, 1, 3, 1000])
def test_name_hash_set_capacity_is_a_power_of_two(capacity: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        NameHashSet(capacity=capacity)
