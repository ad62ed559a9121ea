"""quantize_model on tiny torch models: sequential and float inputs, reports, bad input."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from qevo_ir.blocks import (
    Conv2dRounding,
    LinearRounding,
    QuantizedModel,
    from_torch_linear,
    quantize_model,
    solve_block,
)
from qevo_ir.blocks.quantize_model import QuantizationReport, dequantize
from qevo_ir.blocks.torch_adapters import apply_solution
from qevo_ir.errors import LimitExceeded, ValidationError

torch = pytest.importorskip("torch")


def _mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 4), torch.nn.Tanh()
    )


def _cnn() -> Any:
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(3, 4, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 3 * 3, 5),
    )


def _np(t: Any) -> Any:
    return t.detach().double().numpy()


def _state(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("sequential", [True, False])
def test_mlp_report_and_objectives(sequential: bool) -> None:
    model = _mlp()
    before = _state(model)
    x = torch.randn(40, 8, generator=torch.Generator().manual_seed(2))
    result = quantize_model(
        model, x, bits=3, method=["nearest", "greedy"], sequential=sequential, seed=1
    )
    qmodel, report = result  # unpacks as a pair
    assert isinstance(result, QuantizedModel)
    assert result.model is qmodel
    assert isinstance(report, QuantizationReport)
    # the given model is untouched; the copy is a different object
    assert qmodel is not model
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert list(report) == ["0", "2"]
    assert report.skipped == {}
    assert report.sequential is sequential
    assert report.methods == ("nearest", "greedy")
    for name in report:
        layer = report[name]
        assert set(layer.objectives) == set(layer.seconds) == {"nearest", "greedy"}
        assert layer.winner == min(layer.objectives, key=lambda m: layer.objectives[m])
        assert layer.objectives["greedy"] <= layer.objectives["nearest"] + 1e-12
        assert layer["objective"] == layer.objective == layer.objectives[layer.winner]
        assert layer.bits == 3
        assert layer.scheme == "symmetric"
        assert layer.kind == "linear"
        assert np.issubdtype(layer.codes.dtype, np.integer)
        assert layer.codes.min() >= -4
        assert layer.codes.max() <= 3
        assert layer.shape == tuple(model.get_submodule(name).weight.shape)
        assert layer.scale.shape == (layer.shape[0],)
        assert not layer.zero_point.any()
        assert layer.rows == 40
        written = _np(qmodel.get_submodule(name).weight)
        np.testing.assert_allclose(layer.dequantize(), written, rtol=0, atol=1e-6)
        # the bias is left alone
        assert torch.equal(qmodel.get_submodule(name).bias, model.get_submodule(name).bias)
    # objectives are the blocks' objectives of the written-back weights, on the inputs each
    # layer saw: from the rounded first layer (sequential) or from the float one
    first = qmodel[0] if sequential else model[0]
    inputs = [_np(x), _np(torch.relu(first(x)))]
    for name, xin in zip(["0", "2"], inputs, strict=True):
        block = LinearRounding(_np(model.get_submodule(name).weight), xin, 3)
        written = _np(qmodel.get_submodule(name).weight)
        assert block.objective(written) == pytest.approx(report[name].objective, rel=1e-5)
    assert report.total_objective == pytest.approx(sum(r.objective for r in report.values()))


def test_sequential_and_float_inputs_differ_after_the_first_layer() -> None:
    model = _mlp()
    x = torch.randn(30, 8, generator=torch.Generator().manual_seed(3))
    seq = quantize_model(model, x, bits=2, method="greedy").report
    flt = quantize_model(model, x, bits=2, method="greedy", sequential=False).report
    assert seq["0"].objective == pytest.approx(flt["0"].objective)
    assert seq["2"].objective != pytest.approx(flt["2"].objective)


@pytest.mark.parametrize("sequential", [True, False])
def test_cnn_rounds_conv_and_linear(sequential: bool) -> None:
    model = _cnn()
    x = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    qmodel, report = quantize_model(
        model, [x[:3], x[3:]], bits=2, method="greedy", sequential=sequential, symmetric=False
    )
    assert list(report) == ["0", "2", "5"]
    assert [report[n].kind for n in report] == ["conv2d", "conv2d", "linear"]
    assert report["0"].shape == (3, 1, 3, 3)
    assert report["0"].codes.shape == (3, 1, 3, 3)
    assert report["0"].rows == 6 * 8 * 8
    assert report["2"].rows == 6 * 3 * 3
    for name in report:
        layer = report[name]
        assert layer.scheme == "asymmetric"
        assert layer.codes.min() >= 0
        assert layer.codes.max() <= 3
        written = _np(qmodel.get_submodule(name).weight)
        np.testing.assert_allclose(
            dequantize(layer.codes, layer.scale, layer.zero_point), written, atol=1e-6
        )
    src = qmodel if sequential else model
    x1 = torch.relu(src[0](x))
    block = Conv2dRounding(
        _np(model[2].weight), _np(x1), 2, stride=2, padding=0, scheme="asymmetric"
    )
    assert block.objective(_np(qmodel[2].weight)) == pytest.approx(report["2"].objective, rel=1e-5)


def test_training_mode_and_dtype_kept() -> None:
    model = _mlp().double().train()
    qmodel, report = quantize_model(
        model, np.random.default_rng(0).normal(size=(10, 8)), 4, "nearest"
    )
    assert qmodel.training
    assert model.training
    assert qmodel[0].weight.dtype == torch.float64
    np.testing.assert_allclose(report["0"].dequantize(), _np(qmodel[0].weight), atol=1e-12)


def test_layers_skip_and_unsupported_modules() -> None:
    torch.manual_seed(5)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 2, 3, groups=2),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 4 * 4, 4),
        torch.nn.Linear(4, 4),
    )
    x = torch.randn(3, 2, 6, 6)
    report = quantize_model(model, x, bits=3, method="nearest").report
    assert list(report) == ["2", "3"]
    assert "groups=2" in report.skipped["0"]
    assert list(quantize_model(model, x, 3, "nearest", layers=["3"]).report) == ["3"]
    assert list(quantize_model(model, x, 3, "nearest", skip=["2"]).report) == ["3"]
    with pytest.raises(ValidationError, match=r"layer '0' cannot be rounded: Conv2d with groups"):
        quantize_model(model, x, 3, "nearest", layers=["0"])
    with pytest.raises(ValidationError, match=r"layer '1' is a Flatten"):
        quantize_model(model, x, 3, "nearest", layers=["1"])
    with pytest.raises(ValidationError, match=r"no module named 'fc'"):
        quantize_model(model, x, 3, "nearest", skip=["fc"])


def test_tied_and_unreached_layers_are_skipped_with_a_reason() -> None:
    class Tied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(5, 4)
            self.head = torch.nn.Linear(4, 5, bias=False)
            self.head.weight = self.embed.weight
            self.mid = torch.nn.Linear(4, 4)
            self.unused = torch.nn.Linear(4, 4)

        def forward(self, ids: Any) -> Any:
            return self.head(self.mid(self.embed(ids)))

    model = Tied()
    report = quantize_model(model, torch.tensor([[0, 1, 2, 3, 4]]), 3, "greedy").report
    assert list(report) == ["mid"]
    assert "shared with embed.weight" in report.skipped["head"]
    assert report.skipped["unused"] == "not reached by the calibration forward pass"
    assert report["mid"].rows == 5


def test_bad_input_names_the_layer() -> None:
    model = _mlp()
    x = torch.randn(10, 8)
    with pytest.raises(ValidationError, match=r"forward pass failed in layer '0'"):
        quantize_model(model, torch.randn(10, 7), 3, "nearest")
    bad = copy.deepcopy(model)
    with torch.no_grad():
        bad[2].weight[1, 1] = float("nan")
    with pytest.raises(ValidationError, match=r"layer '2': the weight has NaN"):
        quantize_model(bad, x, 3, "nearest")
    with pytest.raises(ValidationError, match=r"layer '0': its calibration inputs have NaN"):
        quantize_model(model, x.masked_fill(x > 1.5, float("inf")), 3, "nearest")
    blown = copy.deepcopy(model)
    with torch.no_grad():
        blown[0].bias[0] = float("inf")  # a bias is not rounded, but it poisons layer '2'
    with pytest.raises(ValidationError, match=r"layer '2': its calibration inputs"):
        quantize_model(blown, x.abs(), 3, "nearest")
    with pytest.raises(ValidationError, match="calibration is empty"):
        quantize_model(model, [], 3, "nearest")
    with pytest.raises(ValidationError, match=r"torch\.nn\.Module"):
        quantize_model(object(), x, 3, "nearest")
    with pytest.raises(ValidationError, match="unknown method"):
        quantize_model(model, x, 3, "nope")
    with pytest.raises(ValidationError, match="not asked"):
        quantize_model(model, x, 3, "nearest", options={"sa": {"num_reads": 1}})
    with pytest.raises(ValidationError, match="bits=1"):
        quantize_model(model, x, 1, "nearest")
    # a method's own error comes out with the layer named: a singular H after damping ...
    with pytest.raises(ValidationError, match=r"layer '0', method 'gptq': .*not positive definite"):
        quantize_model(model, x[:, :1].repeat(1, 8), 3, "gptq", damp=0.0)
    # ... or a size limit
    with pytest.raises(LimitExceeded, match=r"layer '0', method 'exact'"):
        quantize_model(model, x, 3, "exact", max_variables=2)


def test_apply_solution_writes_one_layer() -> None:
    model = _mlp()
    x = torch.randn(20, 8)
    layer = copy.deepcopy(model[0])
    block = from_torch_linear(layer, x, 2)
    sol = solve_block(block, "greedy")
    bias = layer.bias.detach().clone()
    assert apply_solution(sol, layer) is layer
    np.testing.assert_allclose(_np(layer.weight), sol.weights, atol=1e-6)
    other = copy.deepcopy(model[0])
    assert sol.apply_to(other) is other  # the method form writes the same weights
    assert torch.equal(other.weight, layer.weight)
    assert torch.equal(layer.bias, bias)
    assert block.objective(_np(layer.weight)) == pytest.approx(sol.objective, rel=1e-5)
    with pytest.raises(ValidationError, match="entries"):
        apply_solution(sol, torch.nn.Linear(3, 3))
    gram_block = from_torch_linear(layer, gram=_np(x).T @ _np(x) / 20, bits=2)
    assert gram_block.objective(sol.weights) == pytest.approx(
        LinearRounding(_np(layer.weight), _np(x), 2).objective(sol.weights), rel=1e-9
    )
    with pytest.raises(ValidationError, match="exactly one of inputs and gram"):
        from_torch_linear(layer, bits=2)


def test_default_gptq_and_warm_started_sa_never_worse_per_layer() -> None:
    model = _mlp()
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(6))
    result = quantize_model(model, x, bits=2)  # default method: gptq
    assert result.report.methods == ("gptq",)
    assert all(r.winner == "gptq" for r in result.report.values())
    report = quantize_model(
        model,
        x,
        bits=2,
        method=["gptq", "sa", "gptq-block"],
        options={
            "sa": {"init": "gptq", "num_reads": 2, "num_sweeps": 20},
            "gptq-block": {"inner": "exact", "block_size": 4},
        },
        seed=3,
    ).report
    for layer in report.values():
        tol = 1e-12 * max(1.0, layer.objectives["gptq"])
        assert layer.objectives["sa"] <= layer.objectives["gptq"] + tol
        assert layer.objective == min(layer.objectives.values())
        assert layer.info["sa"]["init"] == "gptq"
    # the same seed gives the same answer
    again = quantize_model(
        model,
        x,
        bits=2,
        method=["gptq", "sa", "gptq-block"],
        options={
            "sa": {"init": "gptq", "num_reads": 2, "num_sweeps": 20},
            "gptq-block": {"inner": "exact", "block_size": 4},
        },
        seed=3,
    ).report
    for name, layer in report.items():
        assert np.array_equal(layer.codes, again[name].codes)


def test_progress_counts_layers() -> None:
    calls: list[tuple[int, int]] = []
    x = torch.randn(40, 8, generator=torch.Generator().manual_seed(2))
    _, report = quantize_model(
        _mlp(), x, bits=3, method="nearest", progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 2), (2, 2)]
    assert list(report) == ["0", "2"]
