"""The digits demo: quantise a small MLP's layers with round-to-nearest, greedy and QUBO rounding.

It trains a 64-32-10 ReLU network on scikit-learn's bundled digits data (no download) in numpy,
quantises every layer to 2, 3 and 4 bits, and reports reconstruction error, test accuracy and
time per method, plus a 16-input variant small enough for exact search and simulated QAOA.
``qevo demo`` and ``examples/digits_mlp.py`` call :func:`run_digits_demo`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.linear import LinearRounding
from qevo_ir.blocks.solve import solve_block
from qevo_ir.errors import BackendUnavailable

__all__ = ["load_digits_split", "run_digits_demo", "train_mlp"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Split:
    x_train: FloatArray
    y_train: IntArray
    x_test: FloatArray
    y_test: IntArray


def load_digits_split(seed: int = 0, test_fraction: float = 0.3) -> _Split:
    """The 8x8 digits (1797 images, pixels scaled to [0, 1]), split deterministically."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise BackendUnavailable(
            "the digits demo needs scikit-learn for its bundled digits data set; install it "
            "with: pip install scikit-learn (or pip install 'qevo-ir[test]')"
        ) from exc
    data = load_digits()
    x = np.asarray(data.data, dtype=np.float64) / 16.0
    y = np.asarray(data.target, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = round(test_fraction * len(y))
    test, train = order[:n_test], order[n_test:]
    return _Split(x[train], y[train], x[test], y[test])


def _pool(x: FloatArray) -> FloatArray:
    """2x2 average pooling of 8x8 images: 64 pixels to 16 features."""
    pooled: FloatArray = x.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)
    return pooled


def _forward(
    x: FloatArray, layers: Sequence[tuple[FloatArray, FloatArray]]
) -> tuple[FloatArray, list[FloatArray]]:
    """Logits and the inputs seen by each layer (ReLU between layers)."""
    seen = []
    h = x
    for k, (w, b) in enumerate(layers):
        seen.append(h)
        h = h @ w.T + b
        if k < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h, seen


def train_mlp(
    x: FloatArray, y: IntArray, sizes: Sequence[int], *, steps: int = 300, seed: int = 0
) -> list[tuple[FloatArray, FloatArray]]:
    """Full-batch Adam on softmax cross-entropy; ``sizes`` like ``(64, 32, 10)``. Deterministic."""
    rng = np.random.default_rng(seed)
    params: list[FloatArray] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in)))
        params.append(np.zeros(fan_out))
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(sizes[-1])[y]
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        layers = [(params[2 * k], params[2 * k + 1]) for k in range(len(sizes) - 1)]
        logits, seen = _forward(x, layers)
        z = logits - logits.max(axis=1, keepdims=True)
        prob = np.exp(z)
        prob /= prob.sum(axis=1, keepdims=True)
        grad = (prob - onehot) / len(y)
        grads: list[FloatArray] = [np.zeros(0)] * len(params)
        for k in range(len(layers) - 1, -1, -1):
            w, _ = layers[k]
            grads[2 * k] = grad.T @ seen[k]
            grads[2 * k + 1] = grad.sum(axis=0)
            if k:
                grad = (grad @ w) * (seen[k] > 0)
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps)
    return [(params[2 * k], params[2 * k + 1]) for k in range(len(sizes) - 1)]


def _accuracy(x: FloatArray, y: IntArray, layers: Sequence[tuple[FloatArray, FloatArray]]) -> float:
    logits, _ = _forward(x, layers)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def _quantise_model(
    name: str,
    layers: list[tuple[FloatArray, FloatArray]],
    calib: list[FloatArray],
    split_test: tuple[FloatArray, IntArray],
    bits_list: Sequence[int],
    methods: Sequence[str],
    options: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for bits in bits_list:
        blocks = [LinearRounding(w, xin, bits) for (w, _), xin in zip(layers, calib, strict=True)]
        for method in methods:
            start = time.perf_counter()
            sols = [solve_block(b, method, **options.get(method, {})) for b in blocks]
            seconds = time.perf_counter() - start
            qlayers = [(s.weights, b) for s, (_, b) in zip(sols, layers, strict=True)]
            row: dict[str, Any] = {}
            if method == "qaoa":
                probs = [c["ground_probability"] for s in sols for c in s.info["qaoa"]["channels"]]
                row["qaoa_mean_ground_probability"] = float(np.mean(probs)) if probs else None
            rows.append(
                row
                | {
                    "model": name,
                    "bits": bits,
                    "method": method,
                    "layer_errors": [s.objective for s in sols],
                    "total_error": float(sum(s.objective for s in sols)),
                    "test_accuracy": _accuracy(split_test[0], split_test[1], qlayers),
                    "seconds": seconds,
                    "max_variables_per_channel": max(int(b.batch.num_free().max()) for b in blocks),
                }
            )
    return rows


def _print_table(rows: list[dict[str, Any]], print_fn: Callable[[str], Any]) -> None:
    header = (
        f"{'model':<14}{'bits':>5}  {'method':<8}{'layer errors':>26}{'test acc':>10}{'time s':>9}"
    )
    print_fn(header)
    print_fn("-" * len(header))
    for r in rows:
        errs = " ".join(f"{e:.4g}" for e in r["layer_errors"])
        acc = "" if r["test_accuracy"] is None else f"{r['test_accuracy']:.3f}"
        print_fn(
            f"{r['model']:<14}{r['bits']:>5}  {r['method']:<8}{errs:>26}{acc:>10}"
            f"{r['seconds']:>9.3f}"
        )


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """One honest line per (model, bits, solver): does the QUBO route beat the baselines?"""
    lines = []
    groups: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["bits"]), {})[r["method"]] = r
    for (model, bits), by in groups.items():
        near = by.get("nearest")
        baselines = [by[b] for b in ("greedy", "gptq") if b in by]
        if near is None or not baselines:
            continue
        # the strongest classical baseline measured in this run: greedy descent or GPTQ
        greedy = min(baselines, key=lambda b: b["total_error"])
        base = greedy["method"]
        for m in ("sa", "exact", "qaoa"):
            if m not in by:
                continue
            r = by[m]
            d_near = r["total_error"] - near["total_error"]
            d_greedy = r["total_error"] - greedy["total_error"]
            tol = 1e-9 * max(1.0, abs(greedy["total_error"]))
            if d_greedy < -tol:
                verdict = f"beats {base}"
            elif d_greedy <= tol:
                verdict = f"ties {base}"
            else:
                verdict = f"WORSE than {base}"
            if d_near > tol:
                verdict += ", WORSE than round-to-nearest"
            worse_layers = [
                str(k + 1)
                for k, (a, b) in enumerate(
                    zip(r["layer_errors"], greedy["layer_errors"], strict=True)
                )
                if a > b + 1e-9 * max(1.0, abs(b))
            ]
            if worse_layers and len(r["layer_errors"]) > 1:
                verdict += f"; worse than {base} on layer {', '.join(worse_layers)}"
            if r.get("qaoa_mean_ground_probability") is not None:
                verdict += (
                    f"; mean probability of sampling a channel's optimum "
                    f"{r['qaoa_mean_ground_probability']:.3g}"
                )
            acc = r["test_accuracy"] - near["test_accuracy"]
            lines.append(
                f"{model} {bits}-bit {m}: error {r['total_error']:.4g} vs nearest "
                f"{near['total_error']:.4g} / best classical ({base}) "
                f"{greedy['total_error']:.4g} ({verdict}); "
                f"accuracy {acc:+.3f} vs nearest; {r['seconds']:.2f} s vs {base} "
                f"{greedy['seconds']:.2f} s"
            )
    return lines


def run_digits_demo(
    print_fn: Callable[[str], Any] = print,
    quick: bool = False,
    *,
    seed: int = 0,
    include_qaoa: bool = True,
) -> list[dict[str, Any]]:
    """Train, quantise and report; returns one row per (model, bits, method).

    Full mode: the 64-32-10 MLP at 2, 3 and 4 bits with ``nearest``, ``greedy``, ``gptq`` and
    ``sa`` (started from GPTQ), and a 16-10 softmax model on 2x2-pooled digits at 2 and 3 bits
    with those and ``exact`` and ``qaoa`` (at most 16 variables per channel). Quick mode
    uses 2 and 4 bits, fewer annealing reads, and QAOA at depth 1 on the 2-bit tiny model only.
    Calibration inputs of each layer are the float network's activations on the training set.
    Each row: ``model``, ``bits``, ``method``, ``layer_errors`` (reconstruction error
    ``‖XWᵀ - XŴᵀ‖²/N`` per layer), ``total_error``, ``test_accuracy`` (all layers quantised,
    biases kept in float), ``seconds`` (solving every layer), ``float_accuracy`` on the first
    row of each model. ``include_qaoa=False`` leaves out the (slowest) QAOA rows.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(_single_threaded_blas())
        if include_qaoa:
            stack.enter_context(_single_threaded_numba())
        return _run(print_fn, quick, seed, include_qaoa)


def _single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread: these matrices are tiny, and on a busy 2-core machine a
    threaded BLAS spinning on 64x32 products was measured 15x slower than one thread."""
    try:  # imported by name: threadpoolctl ships no type information
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # it comes with scikit-learn; without it, run as configured
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[Any] = threadpoolctl.threadpool_limits(
        limits=1, user_api="blas"
    )
    return limiter


@contextlib.contextmanager
def _single_threaded_numba() -> Iterator[None]:
    """One numba thread for the 16-qubit QAOA simulations (restored afterwards): at this size
    a parallel loop on a busy machine was measured 14x slower than a serial one."""
    try:
        import numba
    except ImportError:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _run(
    print_fn: Callable[[str], Any], quick: bool, seed: int, include_qaoa: bool
) -> list[dict[str, Any]]:
    data = load_digits_split(seed)
    sa: dict[str, Any] = {
        "num_reads": 8 if quick else 16,
        "num_sweeps": 300 if quick else 1000,
        "seed": seed,
    }
    # SA starts from GPTQ and keeps, per channel, the better of the two (never worse than GPTQ)
    sa["init"] = "gptq"
    qaoa = {"p": 1 if quick else 2, "shots": 256, "restarts": 1 if quick else 2, "seed": seed}
    qaoa["maxiter"] = 15 if quick else 60
    options = {"sa": sa, "qaoa": qaoa, "exact": {}}

    t0 = time.perf_counter()
    mlp = train_mlp(data.x_train, data.y_train, (64, 32, 10), steps=300, seed=seed)
    _, calib = _forward(data.x_train, mlp)
    float_acc = _accuracy(data.x_test, data.y_test, mlp)
    print_fn(
        f"digits MLP 64-32-10 trained in {time.perf_counter() - t0:.2f} s: float test accuracy "
        f"{float_acc:.3f} ({len(data.y_train)} train / {len(data.y_test)} test images)"
    )
    rows = _quantise_model(
        "mlp-64-32-10",
        mlp,
        calib,
        (data.x_test, data.y_test),
        (2, 4) if quick else (2, 3, 4),
        ("nearest", "greedy", "gptq", "sa"),
        options,
    )
    rows[0]["float_accuracy"] = float_acc

    xs_train, xs_test = _pool(data.x_train), _pool(data.x_test)
    tiny = train_mlp(xs_train, data.y_train, (16, 10), steps=300, seed=seed)
    tiny_acc = _accuracy(xs_test, data.y_test, tiny)
    print_fn(f"tiny softmax 16-10 on 2x2-pooled digits: float test accuracy {tiny_acc:.3f}")
    first = len(rows)
    tiny_methods: tuple[str, ...] = ("nearest", "greedy", "gptq", "sa", "exact")
    if include_qaoa:
        tiny_methods += ("qaoa",)
    if quick:
        rows += _quantise_model(
            "tiny-16-10", tiny, [xs_train], (xs_test, data.y_test), (2,), tiny_methods, options
        )
    else:
        rows += _quantise_model(
            "tiny-16-10", tiny, [xs_train], (xs_test, data.y_test), (2, 3), tiny_methods, options
        )
    rows[first]["float_accuracy"] = tiny_acc

    print_fn("")
    _print_table(rows, print_fn)
    print_fn("")
    for line in _verdicts(rows):
        print_fn(line)
    print_fn(
        "Reconstruction error is what every method minimises; accuracy is a downstream check "
        "and can move either way. Solver rows are reported beside the baselines as measured."
    )
    return rows
