"""``qevo solve`` on an OMMX file and with ``--maximize`` (a qbsolv ``-m`` problem): the JSON
carries feasible_count, best_feasible_objective and best_feasible_sample in the source's sense;
a broken OMMX file is one line on stderr and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qevo_ir.cli.main import main

ommx = pytest.importorskip("ommx.v1")


def test_solve_ommx_and_maximize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = [ommx.DecisionVariable.binary(i) for i in range(4)]
    z = ommx.DecisionVariable.integer(4, lower=0, upper=3)
    inst = ommx.Instance.from_components(
        decision_variables=[*x, z],
        objective=x[0] * x[1] * z + 2 * x[2] - x[3] * z + 1,
        constraints=[(x[0] + x[1] + x[2] + x[3] == 1).set_id(0), (z + 2 * x[0] <= 3).set_id(1)],
        sense=ommx.Instance.MAXIMIZE,
    )
    path = tmp_path / "p.ommx"
    path.write_bytes(inst.to_bytes())
    assert main(["solve", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sense"] == "max"
    assert out["best_feasible_objective"] == 3.0
    assert out["best_feasible_sample"] == {"0": 0, "1": 0, "2": 1, "3": 0, "4": 0}
    assert out["feasible_count"] == out["num_samples"] > 0

    qubo = tmp_path / "m.qubo"
    qubo.write_text("p qubo 0 3 3 1\n0 0 1\n1 1 2\n2 2 -1\n0 1 -4\n")
    assert main(["solve", str(qubo), "--maximize", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best_feasible_objective"] == 2.0  # the maximum of x0 + 2 x1 - x2 - 4 x0 x1
    assert out["best_feasible_sample"] == {"0": 0, "1": 1, "2": 0}

    assert main(["inspect", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["constraints_by_kind"] == {"one-hot": 1, "linear": 1}
    assert main(["compile", str(path), "-o", str(tmp_path / "out"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pipeline"] == "penalize | quadratize"
    assert report["source"]["type"] == "ConstrainedModel"
    assert main(["verify", str(tmp_path / "out")]) == 0
    capsys.readouterr()

    bad = tmp_path / "bad.ommx"
    bad.write_bytes(b"junk")
    assert main(["solve", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not an OMMX Instance" in err
    assert err.count("\n") == 1
