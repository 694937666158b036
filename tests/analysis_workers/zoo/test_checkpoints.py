"""Checkpoint loading refuses everything but a well-formed safetensors file matching the spec,
before any tensor exists — and never unpickles."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_workers import zoo
from analysis_workers.zoo import CheckpointError

SPEC = zoo.example_spec("mlp")


def _valid() -> bytes:
    return zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(0)), SPEC)


def _with_header(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _header_of(blob: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


@pytest.mark.parametrize("family", zoo.families())
def test_round_trip_for_every_family(family: str) -> None:
    spec = zoo.example_spec(family)
    model = zoo.build(spec, generator=torch.Generator().manual_seed(1))
    loaded = zoo.load_checkpoint(spec, zoo.save_checkpoint(model, spec))
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


class Payload:
    """Unpickling this would create a file: the proof that nothing unpickles."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.target),))


def test_pickle_renamed_safetensors_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    blob = pickle.dumps({"0.weight": Payload(marker)})
    with pytest.raises(CheckpointError, match="pickle"):
        zoo.load_checkpoint(SPEC, blob)
    assert not marker.exists()


def test_torch_save_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"0.weight": torch.zeros(2)}, path)  # our own data, written by the test
    with pytest.raises(CheckpointError, match="zip"):
        zoo.load_checkpoint(SPEC, path.read_bytes())


@pytest.mark.parametrize("low_bytes", [0x80, 0x4B50], ids=["pickle_byte", "zip_magic"])
def test_header_length_that_spells_a_pickle_or_zip_magic_still_loads(low_bytes: int) -> None:
    """A header of 128 + 256k bytes begins the file with 0x80 (a pickle's first byte), one of
    19,280 + 65,536k bytes with "PK"; both are plain safetensors (padded with spaces, as allowed)."""
    header, data = _header_of(_valid())
    raw = json.dumps(header).encode()
    period = 256 if low_bytes < 256 else 65536
    length = low_bytes + period * -(-(len(raw) - low_bytes) // period)
    blob = struct.pack("<Q", length) + raw + b" " * (length - len(raw)) + data
    assert blob[:1] == b"\x80" or blob[:2] == b"PK"
    model = zoo.load_checkpoint(SPEC, blob)
    assert torch.equal(
        model.state_dict()["0.weight"], zoo.load_checkpoint(SPEC, _valid()).state_dict()["0.weight"]
    )


def _mutate(kind: str) -> bytes:
    header, data = _header_of(_valid())
    first = next(k for k in header if k != "__metadata__")
    if kind == "terabytes":
        return struct.pack("<Q", 2**40) + b"{}"
    if kind == "longer_than_file":
        return struct.pack("<Q", 10_000) + b"{}"
    if kind == "not_object":
        return _with_header([1, 2], data)  # type: ignore[arg-type]
    if kind == "overlap":
        header[first]["data_offsets"] = [0, header[first]["data_offsets"][1]]
        second = [k for k in header if k != "__metadata__"][1]
        header[second]["data_offsets"] = [
            0,
            header[second]["data_offsets"][1] - header[second]["data_offsets"][0],
        ]
    if kind == "gap":
        return _with_header(header, data + b"\x00" * 4)
    if kind == "duplicate":
        raw = json.dumps(header).encode()
        raw = raw[:-1] + b', "' + first.encode() + b'": ' + json.dumps(header[first]).encode() + b"}"
        return struct.pack("<Q", len(raw)) + raw + data
    if kind == "missing":
        from safetensors.torch import save

        tensors = dict(zoo.build(SPEC).state_dict())
        del tensors[first]
        return save(tensors)
    if kind == "extra":
        header["../../etc/passwd"] = {"dtype": "F32", "shape": [0], "data_offsets": [len(data), len(data)]}
    if kind == "nul_name":
        header["0.weight\x00x"] = header.pop(first)
    if kind == "wrong_shape":
        entry = header[first]
        entry["shape"] = (
            [entry["shape"][1], entry["shape"][0]] if len(entry["shape"]) == 2 else [1, *entry["shape"]]
        )
    if kind == "wrong_dtype":
        header[first]["dtype"] = "I64"
    if kind == "nan":
        tensors = {k: t.clone() for k, t in zoo.build(SPEC).state_dict().items()}
        tensors[first].view(-1)[0] = float("nan")
        from safetensors.torch import save

        return save(tensors)
    return _with_header(header, data)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("terabytes", "limit"),
        ("longer_than_file", "more than the file has"),
        ("not_object", "JSON object"),
        ("overlap", "overlaps|does not match"),
        ("gap", "belong to no tensor"),
        ("duplicate", "twice"),
        ("missing", "lacks tensors"),
        ("extra", "not a plain dotted identifier"),
        ("nul_name", "not a plain dotted identifier"),
        ("wrong_shape", "shape"),
        ("wrong_dtype", "dtype"),
        ("nan", "NaN"),
    ],
)
def test_malformed_checkpoints_are_refused_with_a_readable_message(kind: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        zoo.load_checkpoint(SPEC, _mutate(kind))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"family": "resnet", "config": {}}, "unknown architecture"),
        (
            {"family": "mlp", "config": {"in_dim": 4, "hidden": [8], "out_dim": 2, "colour": 1}},
            "unknown keys",
        ),
        ({"family": "mlp", "config": {"in_dim": "4", "hidden": [8], "out_dim": 2}}, "integer"),
        ({"family": "mlp", "config": {"in_dim": 60000, "hidden": [60000, 60000], "out_dim": 2}}, "limit"),
        ({"family": "deep_linear", "config": {"dims": [3]}}, "at least two"),
        ({"family": "mlp"}, "spec is"),
    ],
)
def test_bad_specs_are_refused(spec: object, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        zoo.validate_spec(spec)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_random_byte_mutations_are_refused_or_load_cleanly(position: int, value: int) -> None:
    blob = bytearray(_valid())
    blob[position % len(blob)] = value
    try:
        model = zoo.load_checkpoint(SPEC, bytes(blob))
    except CheckpointError:
        return
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
