"""The demo models' code paths (no transformer training here: a tiny random one) and cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qevo_ir.blocks import LinearRounding, quantize_model

torch = pytest.importorskip("torch")

from qevo_ir.blocks.demos import models  # noqa: E402  (after the torch check)
from qevo_ir.blocks.demos.table import run_model_demo, verdicts  # noqa: E402


def test_importing_blocks_does_not_import_torch() -> None:
    code = (
        "import sys, qevo_ir.blocks, qevo_ir.blocks.export, qevo_ir.blocks.demos; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tiny_transformer_every_linear_rounded_sequentially() -> None:
    cfg = models.TransformerConfig(d_model=16, layers=1, heads=2, context=8, vocab=20)
    model = models.build_transformer(cfg, seed=0)
    ids = torch.randint(0, 20, (3, 8), generator=torch.Generator().manual_seed(0))
    qmodel, report = quantize_model(model, ids, bits=3, method=["nearest", "greedy"])
    assert list(report) == ["blocks.0.qkv", "blocks.0.proj", "blocks.0.ff1", "blocks.0.ff2", "head"]
    assert report["blocks.0.ff2"].shape == (16, 64)
    assert report["blocks.0.qkv"].rows == 3 * 8
    # the last layer's objective is measured on the inputs the rounded model gives it
    seen: list[Any] = []
    handle = qmodel.head.register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    with torch.no_grad():
        qmodel(ids)
    handle.remove()
    x = seen[0].reshape(-1, 16).double().numpy()
    block = LinearRounding(model.head.weight.detach().double().numpy(), x, 3)
    written = qmodel.head.weight.detach().double().numpy()
    assert block.objective(written) == pytest.approx(report["head"].objective, rel=1e-4)
    # embeddings and norms stay in float
    assert torch.equal(qmodel.embed.weight, model.embed.weight)
    assert torch.equal(qmodel.ln.weight, model.ln.weight)


def test_weight_cache_round_trip_and_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QEVO_CACHE_DIR", str(tmp_path))
    assert models.cache_dir() == tmp_path / "models"
    cfg = models.TransformerConfig(d_model=8, layers=1, heads=2, context=4, vocab=10)
    trained = models.build_transformer(cfg, seed=1)
    calls: list[int] = []

    def train() -> None:
        calls.append(1)
        with torch.no_grad():
            trained.head.weight.mul_(2.0)

    payload = {"model": "t", "seed": 1}
    first = models._cached(torch, trained, "t", payload, train)
    assert calls == [1]
    assert first > 0
    files = list((tmp_path / "models").glob("t-*.npz"))
    assert len(files) == 1
    fresh = models.build_transformer(cfg, seed=1)
    assert models._cached(torch, fresh, "t", payload, train) == 0.0  # from the cache
    assert calls == [1]
    for k, v in trained.state_dict().items():
        assert torch.equal(v, fresh.state_dict()[k])
    # a file that does not fit the model (other shapes) is not loaded: training runs again
    other = models.build_transformer(
        models.TransformerConfig(d_model=4, layers=1, heads=2, context=4, vocab=10)
    )
    files[0].write_bytes(b"garbage")
    assert not models._load_state(torch, other, files[0])
    assert models._cached(torch, fresh, "t", payload, train) > 0
    assert calls == [1, 1]


def test_corpus_is_ascii_stdlib_text() -> None:
    text = models.corpus()
    assert len(text) > 100_000
    assert max(map(ord, text)) < models.VOCAB
    assert "def " in text


def test_mlp_demo_rows(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_model_demo(
        "mlp",
        bits=(2,),
        methods=["nearest", "greedy", "sa"],
        options={"sa": {"num_reads": 2, "num_sweeps": 50}},
    )
    assert [r["method"] for r in rows] == ["nearest", "greedy", "sa"]
    for r in rows:
        assert list(r["layer_objectives"]) == ["0", "2"]
        assert r["total_objective"] == pytest.approx(sum(r["layer_objectives"].values()))
        assert 0.0 <= r["score"] <= 1.0
        assert r["metric"] == "accuracy"
    assert rows[1]["layer_objectives"]["0"] <= rows[0]["layer_objectives"]["0"]
    out = capsys.readouterr().out
    assert "2-bit sa vs greedy" in out
    assert np.isfinite(rows[0]["float_score"])


def test_verdicts_count_layers_against_the_reference() -> None:
    rows = [
        {
            "bits": 2,
            "method": "gptq",
            "layer_objectives": {"a": 1.0, "b": 2.0},
            "total_objective": 3.0,
            "metric": "perplexity",
            "score": 5.0,
            "seconds": 0.1,
        },
        {
            "bits": 2,
            "method": "sa",
            "layer_objectives": {"a": 0.5, "b": 2.5},
            "total_objective": 3.0,
            "metric": "perplexity",
            "score": 5.1,
            "seconds": 1.0,
        },
    ]
    (line,) = verdicts(rows)
    assert "lower on 1 of 2 layers, higher on 1" in line
    assert "(equal)" in line
    assert "best classical gptq 3 (NOT beaten)" in line


def test_cli_demo_model_rejects_bad_bits(capsys: pytest.CaptureFixture[str]) -> None:
    from qevo_ir.cli.main import main

    assert main(["demo", "--model", "mlp", "--bits", "two"]) == 2
    assert "--bits" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--model", "resnet"])


def test_cli_demo_model_refuses_to_overwrite_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qevo_ir.cli.main import main

    out = tmp_path / "rows.json"
    out.write_text("{}")
    assert main(["demo", "--model", "mlp", "--json", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "{}"
