"""``qevo compile-block``: a model block .npz to per-channel artifacts with baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qevo_ir.blocks import LinearRounding
from qevo_ir.cli.main import main


def test_compile_block_emits_every_channel_and_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("dimod")
    rng = np.random.default_rng(1)
    weight, inputs = rng.normal(size=(3, 8)), rng.normal(size=(40, 8))
    path = tmp_path / "layer.npz"
    np.savez(path, weight=weight, inputs=inputs, bits=np.array(3))
    out = tmp_path / "out"
    assert main(["compile-block", str(path), "--target", "exact,dimod", "-o", str(out)]) == 0
    report = json.loads((out / "block_report.json").read_text())
    assert report["block"]["class"] == "LinearRounding"
    assert [c["channel"] for c in report["channels"]] == [0, 1, 2]
    block = LinearRounding(weight, inputs, 3)
    methods = {r["method"]: r["objective"] for r in report["baselines"]}
    assert methods["nearest"] == pytest.approx(block.objective(block.nearest()))
    assert methods["greedy"] <= methods["nearest"] + 1e-12
    for entry in report["channels"]:
        folder = out / entry["directory"]
        assert (folder / "bqm.json").is_file()
        c = entry["channel"]
        exact = json.loads((folder / "exact.json").read_text())
        nearest_bits = block.baseline_bits()[c][block.batch.free[c]]
        nearest_energy = block.hamiltonian(c).energy(nearest_bits)
        # the channel's exact optimum is never worse than its round-to-nearest baseline
        assert exact["ground_energy"] <= nearest_energy + 1e-9
        assert main(["verify", str(folder)]) == 0
    capsys.readouterr()
    assert main(["compile-block", str(path), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_compile_block_refuses_pickles_and_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    payload = np.array([{"x": marker}], dtype=object)
    bad = tmp_path / "pickle.npz"
    np.savez(bad, weight=payload, inputs=np.zeros((2, 2)))
    assert main(["compile-block", str(bad), "-o", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert "pickle" in err
    assert not marker.exists()
    assert not (tmp_path / "o1" / "block_report.json").exists()
    opts = tmp_path / "opts.npz"
    np.savez(opts, weight=np.ones((2, 3)), inputs=np.ones((4, 3)), kind=np.array("nonsense"))
    assert main(["compile-block", str(opts), "-o", str(tmp_path / "o2")]) == 2
    assert "kind 'nonsense'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--layers", "-1"], "--layers must be at least 1"),
        (["--channels="], "--channels: expected comma-separated channel numbers, got ''"),
        (["--channels", "0,,1"], "got '0,,1'"),
    ],
)
def test_compile_block_refuses_what_compile_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    # Campaign finding (2026-12-04): --layers -1 and an empty --channels compiled every channel.
    block = tmp_path / "b.npz"
    np.savez(block, weight=np.ones((2, 3)) / 3, inputs=np.ones((4, 3)))
    out = tmp_path / "o"
    assert main(["compile-block", str(block), "-t", "exact", "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--layers", "3", "--gammas", "0.1,0.2", "--betas", "0.1,0.2"], "--layers 3 but 2"),
        (["--gammas", "0.1,,0.2", "--betas", "0.1,0.2"], "got '0.1,,0.2'"),
        (["--gammas=", "--betas="], "expected comma-separated numbers, got ''"),
    ],
)
def test_compile_angles_never_override_layers_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    from qevo_ir.formats import write_hamiltonian
    from qevo_ir.testing.conformance import random_hamiltonian

    src = tmp_path / "p.qevo.json"
    write_hamiltonian(random_hamiltonian(4, "SPIN", seed=1), src)
    argv = ["compile", str(src), "-t", "qiskit", "-o", str(tmp_path / "o"), *extra]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals exit 2 from the parser
        code = int(exc.code or 0)
    assert code == 2
    assert says in capsys.readouterr().err


def test_a_forged_array_header_is_refused_before_allocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Campaign finding (2026-12-04): a weight header claiming shape (3, 6e14) was allocated and
    # ended as "out of memory"; a 1e9 conv padding surfaced numpy's own message.
    import io
    import zipfile

    def npy(shape: tuple[int, ...], data: bytes) -> bytes:
        buf = io.BytesIO()
        header = {"descr": "<f8", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(buf, header)
        return buf.getvalue() + data

    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(forged, "w") as zf:
        zf.writestr("weight.npy", npy((3, 600_000_000_000_000), b"\0" * 48))
        zf.writestr("inputs.npy", npy((2, 3), b"\0" * 48))
    assert main(["compile-block", str(forged), "-o", str(tmp_path / "o")]) == 2
    assert "truncated or forged" in capsys.readouterr().err
    conv = tmp_path / "conv.npz"
    np.savez(
        conv,
        weight=np.ones((2, 1, 3, 3)) / 3,
        inputs=np.ones((2, 1, 5, 5)),
        kind=np.array("conv2d"),
        padding=np.array(10**9),
    )
    assert main(["compile-block", str(conv), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "im2col with padding" in err
    assert "over the budget" in err
    assert not (tmp_path / "o").exists()
