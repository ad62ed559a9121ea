"""Round a whole PyTorch model's Linear and Conv2d weights, layer by layer, as GPTQ does.

:func:`quantize_model` deep-copies the model, finds its ``torch.nn.Linear`` and
``torch.nn.Conv2d`` layers, and rounds them one at a time in the order the forward pass reaches
them. Each layer's calibration inputs are captured with a forward hook from the copy in which
every earlier layer is already rounded (``sequential=True``, GPTQ's order, Frantar et al. 2022),
or all from the float model (``sequential=False``). Each layer becomes a
:class:`~qevo_ir.blocks.linear.LinearRounding` (or :class:`~qevo_ir.blocks.conv.Conv2dRounding`)
through :mod:`qevo_ir.blocks.torch_adapters`, every method asked is run on it by
:func:`~qevo_ir.blocks.solve.solve_block`, and the winner (lowest layer objective) is written
back. torch is imported only when the function is called. See ``specs/models.md``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.linear import LinearRounding
from qevo_ir.blocks.methods import get_method
from qevo_ir.blocks.solve import METHODS, BlockSolution, solve_block
from qevo_ir.blocks.torch_adapters import (
    conv2d_support,
    from_torch_conv2d,
    to_numpy,
    write_weight,
)
from qevo_ir.errors import QevoError, ValidationError
from qevo_ir.execution.progress import progress_reporter
from qevo_ir.plugins import require

__all__ = ["LayerReport", "QuantizationReport", "QuantizedModel", "quantize_model"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Calibration rows are converted to float64 this many bytes at a time when accumulating XᵀX.
_CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class LayerReport:
    """One rounded layer: what every method scored, who won, and the integer encoding.

    ``objectives`` / ``seconds``: per method asked, the layer objective
    ``‖X Wᵀ − X Ŵᵀ‖²_F / N`` on this layer's calibration inputs and the wall time of
    :func:`~qevo_ir.blocks.solve.solve_block`; ``winner``: the method with the lowest objective
    (the first asked on a tie), whose weights were written into the model. ``codes`` (integers
    of :func:`code_dtype`, the weight's shape), ``scale`` and ``zero_point`` (one per output
    channel) give the written weight exactly as ``scale[o] * (codes[o, ...] - zero_point[o])``
    (:meth:`dequantize`).
    ``rows``: calibration rows (tokens, or images times output positions for a convolution).
    Fields are attributes; ``report[name]["objective"]`` works too (``__getitem__``).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    bits: int
    scheme: str
    objectives: dict[str, float]
    seconds: dict[str, float]
    winner: str
    codes: npt.NDArray[np.integer[Any]]
    scale: FloatArray
    zero_point: IntArray
    rows: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def objective(self) -> float:
        """The winner's layer objective (the rounded weights now in the model)."""
        return self.objectives[self.winner]

    def dequantize(self) -> FloatArray:
        """The rounded weight ``scale (codes - zero_point)``, shaped like the layer's weight."""
        return dequantize(self.codes, self.scale, self.zero_point)

    def __getitem__(self, key: str) -> Any:
        if key.startswith("_") or not hasattr(self, key) or key in ("dequantize",):
            raise KeyError(key)
        return getattr(self, key)


def code_dtype(bits: int, scheme: str) -> np.dtype[Any]:
    """The smallest integer type holding a grid's codes: ``int8`` / ``int16`` (symmetric, up to
    8 / 16 bits) or ``uint8`` / ``uint16`` (asymmetric)."""
    if scheme == "symmetric":
        return np.dtype(np.int8 if bits <= 8 else np.int16)
    return np.dtype(np.uint8 if bits <= 8 else np.uint16)


def dequantize(codes: npt.ArrayLike, scale: npt.ArrayLike, zero_point: npt.ArrayLike) -> FloatArray:
    """``scale[o] * (codes[o, ...] - zero_point[o])`` as float64, shaped like ``codes``."""
    q = np.asarray(codes)
    out = q.shape[0]
    s = np.asarray(scale, dtype=np.float64).reshape(out, 1)
    z = np.asarray(zero_point, dtype=np.float64).reshape(out, 1)
    w: FloatArray = (s * (q.reshape(out, -1).astype(np.float64) - z)).reshape(q.shape)
    return w


@dataclass(frozen=True, eq=False)
class QuantizationReport(Mapping[str, LayerReport]):
    """Per-layer reports under their ``named_modules()`` names, in the order they were rounded.

    ``skipped`` maps a Linear or Conv2d that was left in float to the reason (an unsupported
    Conv2d setting, a weight shared with another module, not reached by the calibration forward
    pass); layers left out with ``layers=`` or ``skip=`` are not listed.
    """

    layers: dict[str, LayerReport]
    skipped: dict[str, str]
    bits: int
    scheme: str
    methods: tuple[str, ...]
    sequential: bool
    seconds: float

    def __getitem__(self, name: str) -> LayerReport:
        return self.layers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def total_objective(self) -> float:
        """Sum of the winners' layer objectives."""
        return float(sum(r.objective for r in self.layers.values()))

    def method_totals(self) -> dict[str, float]:
        """Per method asked, its objectives summed over the layers."""
        return {m: float(sum(r.objectives[m] for r in self.layers.values())) for m in self.methods}


@dataclass(frozen=True, eq=False)
class QuantizedModel:
    """The result of :func:`quantize_model`: ``.model`` and ``.report``; unpacks as a pair."""

    model: Any
    report: QuantizationReport

    def __iter__(self) -> Iterator[Any]:
        return iter((self.model, self.report))


def quantize_model(
    model: Any,
    calibration: Any,
    bits: int = 4,
    method: str | Sequence[str] = "gptq",
    *,
    symmetric: bool = True,
    sequential: bool = True,
    layers: Sequence[str] | None = None,
    skip: Sequence[str] = (),
    seed: int | None = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    executor: Any = None,
    workers: int | None = None,
    timeout: float | None = None,
    progress: Any = None,
    **method_options: Any,
) -> QuantizedModel:
    """Round the Linear and Conv2d weights of a ``torch.nn.Module``; returns a rounded copy.

    ``calibration``: one batch (a tensor or numpy array: the model's single input; a tuple:
    its positional inputs; a dict: keyword inputs) or a list of such batches. ``method``: any
    :func:`~qevo_ir.blocks.solve.solve_block` method, or a list of them: each is run on every
    layer and the one with the lowest layer objective is written back (its name is the layer's
    ``winner``). ``symmetric``: the per-channel grid scheme (``False``: asymmetric, with zero
    points). ``layers``: names (``named_modules()``) to round, default every supported
    Linear and Conv2d; ``skip``: names to leave in float. ``seed``: methods that take a seed
    get one derived from it and the layer's position. ``method_options`` are passed to every
    method asked; ``options`` maps a method name to options for that method only.
    ``executor``, ``workers`` and ``timeout`` (per layer and method) pass to each
    :func:`~qevo_ir.blocks.solve.solve_block`: layers run one after another (each one's
    calibration comes from the rounded layers before it), their channels on the engine.
    ``progress``: a bar over the layers (``None``: when stderr is a terminal; ``False``: none;
    a callable gets ``(layers done, layers)``).

    Rounded: ``torch.nn.Linear`` (and subclasses) and ``torch.nn.Conv2d`` with ``groups=1``,
    ``dilation=1`` and zero padding. Every other module, and every bias, is left alone. A
    Conv2d with other settings, a layer whose weight is shared with another module, or one the
    calibration forward pass never reaches is left in float and listed in
    ``report.skipped`` with the reason; naming such a layer in ``layers`` is an error.

    The given model is not modified. The copy is in the training mode the model was in.

    Raises :class:`~qevo_ir.errors.ValidationError` for a model that is not a module, an empty
    calibration, calibration the model cannot run (naming the layer where the forward failed),
    NaN/Inf weights or layer inputs (naming the layer), unknown layer names or methods; a
    method's own errors (size limits, missing backends) come out with the layer named.
    """
    torch: Any = require("torch", "torch")
    if not isinstance(model, torch.nn.Module):
        raise ValidationError(f"quantize_model takes a torch.nn.Module, got {type(model).__name__}")
    methods = _methods(method)
    per_method = _per_method(methods, options or {}, method_options)
    scheme = "symmetric" if symmetric else "asymmetric"
    start = time.perf_counter()
    qmodel = copy.deepcopy(model)
    batches = _batches(torch, calibration, qmodel)
    targets, skipped = _targets(torch, qmodel, layers, skip)
    for name, module in targets.items():
        if not bool(torch.isfinite(module.weight.detach()).all()):
            raise ValidationError(f"layer {name!r}: the weight has NaN or Inf entries")
    was_training = qmodel.training
    qmodel.train(False)  # eval mode
    reports: dict[str, LayerReport] = {}
    try:
        captured = _capture(torch, qmodel, targets, batches, keep=not sequential)
        order = [n for n in captured if n in targets]
        for n in targets:
            if n not in captured:
                skipped[n] = "not reached by the calibration forward pass"
        with progress_reporter(progress, len(order), "quantize_model", "layer") as tick:
            for index, name in enumerate(order):
                module = targets[name]
                if sequential:  # inputs from the copy, every earlier layer already rounded
                    stats = _capture(torch, qmodel, {name: module}, batches, keep=True)[name]
                else:
                    stats = captured[name]
                block, rows = _block(name, module, stats, bits, scheme)
                reports[name] = _round_layer(
                    name,
                    module,
                    block,
                    methods,
                    per_method,
                    _layer_seed(seed, index),
                    rows,
                    engine={
                        "executor": executor,
                        "workers": workers,
                        "timeout": timeout,
                        # one bar, over layers: no per-channel bar under it
                        "progress": False,
                    },
                )
                captured.pop(name, None)
                del block
                if tick is not None:
                    tick(index + 1, len(order))
    finally:
        qmodel.train(was_training)
    report = QuantizationReport(
        reports, skipped, bits, scheme, methods, sequential, time.perf_counter() - start
    )
    return QuantizedModel(qmodel, report)


# ---------------------------------------------------------------------------- arguments


def _methods(method: str | Sequence[str]) -> tuple[str, ...]:
    names = (method,) if isinstance(method, str) else tuple(method)
    if not names or not all(isinstance(m, str) for m in names):
        raise ValidationError(f"method must be a method name or a list of them, got {method!r}")
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise ValidationError(
            f"unknown method(s) {', '.join(map(repr, unknown))}; expected {', '.join(METHODS)}"
        )
    return tuple(dict.fromkeys(names))


def _per_method(
    methods: tuple[str, ...],
    options: Mapping[str, Mapping[str, Any]],
    common: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    extra = sorted(set(options) - set(methods))
    if extra:
        raise ValidationError(
            f"options for method(s) {', '.join(extra)} that were not asked ({', '.join(methods)})"
        )
    return {m: {**common, **dict(options.get(m, {}))} for m in methods}


def _layer_seed(seed: int | None, index: int) -> int | None:
    if seed is None:
        return None
    return int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0] >> 1)


def _batches(torch: Any, calibration: Any, model: Any) -> list[Any]:
    if isinstance(calibration, list):
        items = list(calibration)
    elif isinstance(calibration, torch.Tensor | np.ndarray | tuple | dict):
        items = [calibration]
    else:
        raise ValidationError(
            "calibration must be a tensor, an array, a tuple or dict of model inputs, or a list "
            f"of such batches; got {type(calibration).__name__}"
        )
    if not items:
        raise ValidationError("calibration is empty; at least one batch is needed")
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)

    def convert(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        if isinstance(x, torch.Tensor) and x.is_floating_point() and dtype is not None:
            x = x.to(dtype)
        return x

    out: list[Any] = []
    for b in items:
        if isinstance(b, tuple):
            out.append(tuple(convert(x) for x in b))
        elif isinstance(b, dict):
            out.append({k: convert(v) for k, v in b.items()})
        elif isinstance(b, torch.Tensor | np.ndarray):
            out.append(convert(b))
        else:
            raise ValidationError(
                f"calibration batch of type {type(b).__name__}: expected a tensor, an array, "
                "a tuple or a dict"
            )
    return out


def _targets(
    torch: Any, model: Any, layers: Sequence[str] | None, skip: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    modules = dict(model.named_modules())
    for what, names in (("layers", layers or ()), ("skip", skip)):
        if isinstance(names, str):
            raise ValidationError(f"{what} takes a list of module names, got the string {names!r}")
        unknown = [n for n in names if n not in modules]
        if unknown:
            raise ValidationError(
                f"{what}: no module named {', '.join(map(repr, unknown))} in the model "
                "(names are those of model.named_modules())"
            )
    owners: dict[int, list[str]] = {}
    for pname, p in model.named_parameters(remove_duplicate=False):
        owners.setdefault(id(p), []).append(pname)
    wanted = set(layers) if layers is not None else None
    skip_set = set(skip)
    targets: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, mod in modules.items():
        if name in skip_set or (wanted is not None and name not in wanted):
            continue
        is_conv = isinstance(mod, torch.nn.Conv2d)
        if not (isinstance(mod, torch.nn.Linear) or is_conv):
            if wanted is not None:
                raise ValidationError(
                    f"layer {name!r} is a {type(mod).__name__}; only Linear and Conv2d are rounded"
                )
            continue
        why = conv2d_support(mod) if is_conv else None
        if why is None and not isinstance(getattr(mod, "weight", None), torch.nn.Parameter):
            why = "its weight is not a parameter"
        if why is None:
            shared = [o for o in owners.get(id(mod.weight), []) if o != f"{name}.weight" and o]
            if shared:
                why = f"its weight is shared with {', '.join(shared)}"
        if why is not None:
            if wanted is not None:
                raise ValidationError(f"layer {name!r} cannot be rounded: {why}")
            skipped[name] = why
            continue
        targets[name] = mod
    return targets, skipped


# ---------------------------------------------------------------------------- calibration


@dataclass
class _Stats:
    """What a forward hook gathered for one layer: ``XᵀX`` and its rows (Linear) or the inputs
    themselves (Conv2d, whose patches are formed by the block)."""

    gram: Any = None
    rows: int = 0
    inputs: list[Any] = field(default_factory=list)


def _run(torch: Any, model: Any, batches: list[Any]) -> None:
    with torch.no_grad():
        for b in batches:
            if isinstance(b, tuple):
                model(*b)
            elif isinstance(b, dict):
                model(**b)
            else:
                model(b)


def _capture(
    torch: Any, model: Any, targets: Mapping[str, Any], batches: list[Any], *, keep: bool
) -> dict[str, _Stats]:
    """Run the calibration through ``model``; per target reached, in first-call order, its
    statistics (only the order, with empty statistics, when ``keep`` is false)."""
    stats: dict[str, _Stats] = {}
    where = [""]  # the module whose forward was entered last
    handles = []

    def pre_hook(name: str) -> Any:
        def hook(_module: Any, _args: Any) -> None:
            where[0] = name

        return hook

    def capture_hook(name: str, conv: bool) -> Any:
        def hook(module: Any, args: Any) -> None:
            st = stats.setdefault(name, _Stats())
            if not keep:
                return
            x = args[0].detach()
            if not bool(torch.isfinite(x).all()):
                raise ValidationError(f"layer {name!r}: its calibration inputs have NaN or Inf")
            if conv:
                st.inputs.append(x.to(torch.float64).cpu())
                st.rows += int(x.shape[0])
                return
            x2 = x.reshape(-1, x.shape[-1])
            d = int(x2.shape[1])
            if st.gram is None:
                st.gram = torch.zeros((d, d), dtype=torch.float64)
            # float64 copies of at most _CHUNK_BYTES at a time, summed in place into XᵀX
            step = max(1, _CHUNK_BYTES // (8 * d))
            for lo in range(0, int(x2.shape[0]), step):  # a loop over row chunks
                part = x2[lo : lo + step].to(device="cpu", dtype=torch.float64)
                st.gram.addmm_(part.T, part)
            st.rows += int(x2.shape[0])

        return hook

    try:
        for name, mod in model.named_modules():
            if name:
                handles.append(mod.register_forward_pre_hook(pre_hook(name)))
        for name, mod in targets.items():
            conv = isinstance(mod, torch.nn.Conv2d)
            handles.append(mod.register_forward_pre_hook(capture_hook(name, conv)))
        try:
            _run(torch, model, batches)
        except QevoError:
            raise
        except Exception as exc:  # the model's own error on inputs it cannot take
            at = f" in layer {where[0]!r} (the last module entered)" if where[0] else ""
            raise ValidationError(
                f"the calibration does not fit the model: the forward pass failed{at} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    finally:
        for h in handles:
            h.remove()
    return stats


def _block(
    name: str, module: Any, stats: _Stats, bits: int, scheme: str
) -> tuple[LinearRounding, int]:
    try:
        if stats.inputs:
            x = np.concatenate([t.numpy() for t in stats.inputs])
            stats.inputs.clear()
            conv = from_torch_conv2d(module, x, bits, scheme=scheme)
            return conv, conv.num_rows
        if stats.gram is None or stats.rows == 0:
            raise ValidationError("no calibration rows reached it")
        gram = stats.gram.numpy()  # shares memory with the tensor: scaled in place
        gram /= stats.rows
        stats.gram = None
        # The block adopts the accumulator (symmetrised in place): no Gram-sized copy.
        weight = to_numpy(module.weight, "module.weight")
        block = LinearRounding.from_gram(weight, gram, bits, scheme=scheme, copy=False)
        return block, stats.rows
    except QevoError as exc:
        raise _named(exc, name) from exc


def _named(exc: QevoError, name: str, method: str | None = None) -> QevoError:
    where = f"layer {name!r}" + (f", method {method!r}" if method else "")
    try:
        return type(exc)(f"{where}: {exc}")
    except TypeError:  # a subclass with another constructor: keep the original
        return exc


def _round_layer(
    name: str,
    module: Any,
    block: LinearRounding,
    methods: tuple[str, ...],
    per_method: Mapping[str, Mapping[str, Any]],
    seed: int | None,
    rows: int,
    engine: Mapping[str, Any],
) -> LayerReport:
    solutions: dict[str, BlockSolution] = {}
    for m in methods:
        opts = dict(per_method[m])
        # methods that take a seed get one derived from the user's and the layer's position
        if seed is not None and "seed" not in opts and "seed" in get_method(m).accepted():
            opts["seed"] = seed
        try:
            solutions[m] = solve_block(block, m, **engine, **opts)
        except QevoError as exc:
            raise _named(exc, name, m) from exc
    winner = min(methods, key=lambda m: solutions[m].objective)  # first asked on a tie
    best = solutions[winner]
    grid = block.grid
    w2 = np.asarray(best.weights, dtype=np.float64).reshape(block.weight.shape[0], -1)
    codes = np.clip(np.rint(grid.coordinates(w2)), grid.qmin, grid.qmax)
    tol = 1e-6 * grid.scale[:, None]
    if not np.all(np.abs(grid.value(codes) - w2) <= tol):
        raise ValidationError(f"layer {name!r}: method {winner!r} returned weights off the grid")
    write_weight(module, best.weights, f"layer {name!r}")
    kind = "conv2d" if len(block.param_shape) == 4 else "linear"
    return LayerReport(
        name=name,
        kind=kind,
        shape=tuple(int(v) for v in block.param_shape),
        bits=grid.bits,
        scheme=grid.scheme,
        objectives={m: float(s.objective) for m, s in solutions.items()},
        seconds={m: float(s.seconds) for m, s in solutions.items()},
        winner=winner,
        codes=codes.astype(code_dtype(grid.bits, grid.scheme)).reshape(block.param_shape),
        scale=np.array(grid.scale, dtype=np.float64),
        zero_point=np.array(grid.zero_point, dtype=np.int64),
        rows=rows,
        info={m: s.info for m, s in solutions.items()},
    )
