"""Workload: ``quantize_model`` peak memory on the demo's character transformer.

Target (issue 10): the peak memory of ``quantize_model`` is at most 2x the model's float
weights plus one layer's Gram matrix. Measured as the growth of the process's peak resident
set (``ru_maxrss``) across the call, in a fresh subprocess that has already imported
everything, built the model and calibration, run one float forward pass over the calibration
(whose activations any calibration needs) and one warm-up ``quantize_model`` on a tiny model.
torch's allocations are not seen by ``tracemalloc``, so RSS is the honest figure; the numpy
peak seen by ``tracemalloc`` is reported beside it. The architecture is the demo's
(``qevo_ir.blocks.demos.models.TransformerConfig``) with random weights (memory does not depend
on training), at the demo's width ``d_model = 64`` and at ``d_model = 512``, where the bound
(81 MiB) is well above allocator noise. MB in the notes is 2^20 bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks.harness import Context, Row, Target

__all__ = ["run"]

W = "quantize_model memory"

_SCRIPT = r"""
import json, resource, sys, time, tracemalloc
import torch
from qevo_ir.blocks import quantize_model
from qevo_ir.blocks.solve import METHODS
from qevo_ir.blocks.demos.models import TransformerConfig, build_transformer
torch.set_num_threads(1)
d, seqs = int(sys.argv[1]), int(sys.argv[2])
method = "gptq" if "gptq" in METHODS else "nearest"
cfg = TransformerConfig(d_model=d, layers=2, heads=4, context=64)
model = build_transformer(cfg, seed=0).eval()
ids = torch.randint(0, cfg.vocab, (seqs, cfg.context), generator=torch.Generator().manual_seed(0))
tiny = build_transformer(TransformerConfig(d_model=8, layers=1, heads=2, context=64), seed=0)
quantize_model(tiny, ids[:2], bits=4, method=method)
with torch.no_grad():
    model(ids)
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = rss()
start = time.perf_counter()
result = quantize_model(model, ids, bits=4, method=method)
seconds = time.perf_counter() - start
peak = rss() - before
# tracemalloc's own bookkeeping would count in the RSS: the numpy peak comes from a second run
tracemalloc.start()
quantize_model(model, ids, bits=4, method=method)
_, traced = tracemalloc.get_traced_memory()
tracemalloc.stop()
weights = sum(p.numel() * p.element_size() for p in model.parameters())
gram = max(m.in_features for m in model.modules() if isinstance(m, torch.nn.Linear)) ** 2 * 8
print(json.dumps({"method": method, "peak": peak, "traced": traced, "weights": weights,
                  "gram": gram, "seconds": seconds, "layers": len(result.report),
                  "rows": seqs * cfg.context}))
"""


def _measure(d_model: int, sequences: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(d_model), str(sequences)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(ctx: Context) -> list[Row]:
    sizes = ctx.pick([(64, 8)], [(64, 32), (256, 32)], [(64, 32), (512, 32)])
    rows: list[Row] = []
    for d_model, sequences in sizes:
        m = _measure(d_model, sequences)
        bound = 2 * m["weights"] + m["gram"]
        factor = m["peak"] / bound
        mb = 1 / 2**20
        rows.append(
            Row(
                W,
                f"char transformer d={d_model}, 2 layers, {m['layers']} Linear layers, "
                f"{m['rows']} calibration tokens, method {m['method']}",
                "quantize_model(model, ids, bits=4)",
                m["seconds"],
                target=Target("value", 1.0, "peak ≤ 2× float weights + one Gram"),
                value=factor,
                metrics={
                    "peak_rss_bytes": m["peak"],
                    "traced_numpy_peak_bytes": m["traced"],
                    "float_weight_bytes": m["weights"],
                    "largest_gram_bytes": m["gram"],
                },
                note=(
                    f"peak RSS growth {m['peak'] * mb:.1f} MB vs bound {bound * mb:.1f} MB "
                    f"(weights {m['weights'] * mb:.1f} MB, Gram {m['gram'] * mb:.1f} MB); "
                    f"numpy peak (tracemalloc) {m['traced'] * mb:.1f} MB; value = peak / bound"
                ),
            )
        )
    return rows
