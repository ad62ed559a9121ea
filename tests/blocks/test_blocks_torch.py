"""Torch adapters (the round-trip test is skipped unless the optional ``torch`` is installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qevo_ir.blocks import Conv2dRounding, LinearRounding, from_torch_conv2d, from_torch_linear
from qevo_ir.errors import BackendUnavailable, ValidationError


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes "import torch" fail
    with pytest.raises(BackendUnavailable, match=r"qevo-ir\[torch\]"):
        from_torch_linear(object(), np.zeros((1, 1)))
    with pytest.raises(BackendUnavailable, match=r"qevo-ir\[torch\]"):
        from_torch_conv2d(object(), np.zeros((1, 1, 1, 1)))


def test_linear_and_conv_adapters() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 3)
    x = torch.randn(12, 5)
    block = from_torch_linear(lin, x, 3)
    ref = LinearRounding(lin.weight.detach().double().numpy(), x.double().numpy(), 3)
    assert block.hamiltonian().isclose(ref.hamiltonian())
    conv = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1)
    xi = torch.randn(2, 2, 6, 6)
    cblock = from_torch_conv2d(conv, xi, 3)
    assert isinstance(cblock, Conv2dRounding)
    w_hat = torch.tensor(cblock.nearest(), dtype=torch.float64)
    out = torch.nn.functional.conv2d(xi.double(), conv.weight.double(), stride=2, padding=1)
    out_hat = torch.nn.functional.conv2d(xi.double(), w_hat, stride=2, padding=1)
    mse = ((out - out_hat) ** 2).sum().item() / (out.shape[0] * out.shape[2] * out.shape[3])
    assert cblock.objective(cblock.nearest()) == pytest.approx(mse, rel=1e-9)
    with pytest.raises(ValidationError, match="groups"):
        from_torch_conv2d(torch.nn.Conv2d(2, 2, 3, groups=2), xi, 3)
