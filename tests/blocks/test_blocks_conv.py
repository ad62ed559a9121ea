"""Conv2dRounding: im2col equals a direct convolution; energies are the mean output error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import Conv2dRounding, LinearRounding, im2col
from qevo_ir.errors import ValidationError
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY


def _direct_conv(
    x: np.ndarray, w: np.ndarray, stride: tuple[int, int], pad: tuple[int, int]
) -> np.ndarray:
    """Reference cross-correlation with explicit loops (tiny sizes only)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    n, _, h, wd = xp.shape
    o, _, kh, kw = w.shape
    ho = (h - kh) // stride[0] + 1
    wo = (wd - kw) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride[0] : i * stride[0] + kh, j * stride[1] : j * stride[1] + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out


@st.composite
def convs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c = draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    h, w = draw(st.integers(kh, 6)), draw(st.integers(kw, 6))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    x = rng.normal(size=(draw(st.integers(1, 3)), c, h, w))
    k = rng.normal(size=(draw(st.integers(1, 2)), c, kh, kw))
    return x, k, stride, pad


@settings(max_examples=40, deadline=None)
@given(convs())
def test_im2col_is_the_convolution(
    case: tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int]],
) -> None:
    x, k, stride, pad = case
    patches = im2col(x, k.shape[2:], stride, pad)
    ref = _direct_conv(x, k, stride, pad)
    got = patches @ k.reshape(k.shape[0], -1).T  # (N*Ho*Wo, out)
    np.testing.assert_allclose(got, ref.transpose(0, 2, 3, 1).reshape(-1, k.shape[0]), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(convs())
def test_energy_is_the_mean_squared_output_error(
    case: tuple[np.ndarray, np.ndarray, tuple[int, int], tuple[int, int]],
) -> None:
    x, k, stride, pad = case
    block = Conv2dRounding(k, x, 2, stride=stride, padding=pad)
    ham = block.hamiltonian()
    if ham.num_variables > 10:
        return
    ref = _direct_conv(x, k, stride, pad)
    xs = all_assignments(ham.num_variables, BINARY)
    for bits, energy in zip(xs, ham.energies(xs), strict=True):
        k_hat = block.decode(bits)
        assert k_hat.shape == k.shape
        err = ref - _direct_conv(x, k_hat, stride, pad)
        mse = np.sum(err**2) / (err.shape[0] * err.shape[2] * err.shape[3])
        assert energy == pytest.approx(mse, rel=1e-9, abs=1e-9)
        assert block.objective(k_hat) == pytest.approx(mse, rel=1e-9, abs=1e-9)


def test_reduces_to_linear_rounding_on_patches() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 5, 5))
    k = rng.normal(size=(4, 2, 3, 3))
    conv = Conv2dRounding(k, x, 3, stride=2, padding=1)
    lin = LinearRounding(k.reshape(4, -1), im2col(x, (3, 3), 2, 1), 3)
    assert conv.hamiltonian(labelled=False).isclose(lin.hamiltonian(labelled=False))
    assert conv.num_rows == 3 * 3 * 3
    assert conv.hamiltonian().labels[0] == (0, 0, 0, 0)
    assert conv.nearest().shape == k.shape


def test_chunked_gram_matches_one_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    import qevo_ir.blocks.conv as conv_module

    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 2, 4, 4))
    k = rng.normal(size=(2, 2, 2, 2))
    full = Conv2dRounding(k, x, 3)
    monkeypatch.setattr(conv_module, "_CHUNK_BYTES", 1)
    chunked = Conv2dRounding(k, x, 3)
    np.testing.assert_allclose(full.gram, chunked.gram, rtol=1e-12, atol=1e-14)


def test_bad_shapes() -> None:
    with pytest.raises(ValidationError, match="out, in, kh, kw"):
        Conv2dRounding(np.ones((2, 3)), np.ones((1, 3, 4, 4)), 3)
    with pytest.raises(ValidationError, match="match the kernel"):
        Conv2dRounding(np.ones((2, 3, 2, 2)), np.ones((1, 2, 4, 4)), 3)
    with pytest.raises(ValidationError, match="smaller than the kernel"):
        Conv2dRounding(np.ones((2, 1, 5, 5)), np.ones((1, 1, 4, 4)), 3)
    with pytest.raises(ValidationError, match="stride"):
        Conv2dRounding(np.ones((2, 1, 2, 2)), np.ones((1, 1, 4, 4)), 3, stride=0)
