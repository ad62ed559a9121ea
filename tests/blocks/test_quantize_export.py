"""Export of integer codes, scales and zero points: round trips and malformed files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from qevo_ir.blocks import quantize_model
from qevo_ir.blocks.export import QuantizedLayer, load_quantized, save_quantized
from qevo_ir.errors import FormatError, ValidationError

torch = pytest.importorskip("torch")


def _quantized(symmetric: bool, bits: int) -> tuple[object, object]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(2 * 16, 3)
    )
    x = torch.randn(4, 1, 4, 4)
    result = quantize_model(model, x, bits, "greedy", symmetric=symmetric)
    return result.model, result


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize(
    ("symmetric", "bits", "dtype"), [(True, 3, np.int8), (False, 9, np.uint16)]
)
def test_round_trip(tmp_path: Path, suffix: str, symmetric: bool, bits: int, dtype: type) -> None:
    qmodel, result = _quantized(symmetric, bits)
    path = save_quantized(result, tmp_path / f"q{suffix}")
    assert path.exists()
    assert not list(tmp_path.glob(".*tmp"))
    back = load_quantized(path)
    report = result.report  # type: ignore[attr-defined]
    assert list(back) == list(report) == ["0", "2"]
    for name, layer in back.items():
        ref = report[name]
        assert isinstance(layer, QuantizedLayer)
        assert layer.codes.dtype == dtype
        assert layer.bits == bits
        assert layer.kind == ref.kind
        assert np.array_equal(layer.codes, ref.codes)
        assert layer.shape == ref.shape
        assert np.array_equal(layer.scale, ref.scale)
        assert np.array_equal(layer.zero_point, ref.zero_point)
        weight = qmodel.get_submodule(name).weight.detach().double().numpy()  # type: ignore[attr-defined]
        np.testing.assert_allclose(layer.dequantize(), weight, atol=1e-6)
    # a loaded export saves again to the same content
    again = save_quantized(back, tmp_path / f"again{suffix}")
    assert {n: layer.codes.tolist() for n, layer in load_quantized(again).items()} == {
        n: layer.codes.tolist() for n, layer in back.items()
    }


def _npz(arrays: dict[str, np.ndarray], allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for key, arr in arrays.items():
            with zf.open(f"{key}.npy", "w") as member:
                np.lib.format.write_array(member, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _header(layers: list[dict[str, object]]) -> np.ndarray:
    text = json.dumps({"format": "qevo-quantized", "version": 1, "layers": layers})
    return np.frombuffer(text.encode(), dtype=np.uint8)


def test_malformed_files_are_refused(tmp_path: Path) -> None:
    entry = {"name": "fc", "kind": "linear", "bits": 3, "scheme": "symmetric", "shape": [2, 2]}
    good = {
        "__header__": _header([entry]),
        "0.codes": np.zeros((2, 2), np.int8),
        "0.scale": np.ones(2),
        "0.zero_point": np.zeros(2, np.int64),
    }
    path = tmp_path / "q.npz"
    path.write_bytes(_npz(good))
    assert list(load_quantized(path)) == ["fc"]
    cases = {
        "not a readable": b"not a zip file",
        "no __header__": _npz({k: v for k, v in good.items() if k != "__header__"}),
        "codes must be int8": _npz(good | {"0.codes": np.zeros((2, 2), np.int64)}),
        "scale must be 2 finite": _npz(good | {"0.scale": np.array([1.0, np.nan])}),
        "do not match the header": _npz(good | {"1.codes": np.zeros((2, 2), np.int8)}),
        "bad name, kind, bits": _npz(good | {"__header__": _header([entry | {"bits": 99}])}),
        "unreadable member": _npz(
            good | {"0.codes": np.array([object()], dtype=object)}, allow_pickle=True
        ),
    }
    for message, data in cases.items():
        path.write_bytes(data)
        with pytest.raises(FormatError, match=message):
            load_quantized(path)
    with pytest.raises(FormatError, match="no such file"):
        load_quantized(tmp_path / "missing.npz")
    with pytest.raises(ValidationError, match="takes a QuantizedModel"):
        save_quantized(42, tmp_path / "x.npz")
