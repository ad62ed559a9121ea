"""AdaRound (Nagel et al. 2020, arXiv:2004.10568): the continuous relaxation of up/down rounding.

Each free weight is ``ŵ = s (floor(t) + h(V) - z)`` with the rectified sigmoid
``h(V) = clip(σ(V)(ζ - γ) + γ, 0, 1)``, ``ζ = 1.1``, ``γ = -0.1``. Adam minimises the layer
objective ``‖X Wᵀ - X Ŵᵀ‖²/N = Σ_o e_oᵀ G e_o`` (through the Gram matrix, full batch) plus
``λ Σ (1 - |2h - 1|^β)``, switched on after a warm-up fraction of the iterations with ``β``
annealed linearly from 20 to 2 (the schedule of the authors' code); then ``x = [h ≥ 1/2]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import (
    Answer,
    Bits,
    Method,
    option_float,
    option_int,
    rounding_block,
)
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require

__all__ = ["ADAROUND", "adaround_rows", "adaround_rows_torch", "relaxed_loss"]

FloatArray = npt.NDArray[np.float64]

ZETA = 1.1
GAMMA = -0.1


def _rectified(v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``h(V)`` and ``dh/dV``."""
    sig = 1.0 / (1.0 + np.exp(-v))
    raw = sig * (ZETA - GAMMA) + GAMMA
    h = np.clip(raw, 0.0, 1.0)
    grad = np.where((raw > 0.0) & (raw < 1.0), sig * (1.0 - sig) * (ZETA - GAMMA), 0.0)
    return h, grad


def relaxed_loss(
    v: FloatArray,
    gram: FloatArray,
    residual: FloatArray,
    u: FloatArray,
    free: npt.NDArray[np.bool_],
    lam: float,
    beta: float | None,
) -> tuple[float, float, FloatArray]:
    """The relaxed objective, the regulariser (0 when ``beta`` is None: warm-up) and the
    gradient of their sum with respect to ``v`` (zero on clipped weights)."""
    h, dh = _rectified(v)
    e = residual - u * h
    ge = e @ gram
    recon = float(np.einsum("oi,oi->", ge, e))
    grad_h = -2.0 * u * ge
    reg = 0.0
    if beta is not None:
        c = 2.0 * h - 1.0
        a = np.abs(c)
        reg = float(lam * np.sum(np.where(free, 1.0 - a**beta, 0.0)))
        grad_h = grad_h - 2.0 * lam * beta * a ** (beta - 1.0) * np.sign(c)
    return recon, reg, np.where(free, grad_h * dh, 0.0)


def adaround_rows(
    gram: FloatArray,
    residual: FloatArray,
    step: FloatArray,
    frac: FloatArray,
    free: npt.NDArray[np.bool_],
    *,
    iters: int,
    lr: float,
    lam: float,
    warmup: float,
    beta: tuple[float, float],
) -> tuple[Bits, dict[str, float]]:
    """AdaRound on some channels: ``residual`` ``(rows, in)`` is ``w - ŵ`` at ``x = 0``,
    ``step`` the rows' grid step, ``frac`` the fractional coordinate (``h``'s start).

    Rows are independent (their losses add), so any subset can be solved on its own.
    """
    u = np.where(free, step[:, None], 0.0)
    p = np.clip((frac - GAMMA) / (ZETA - GAMMA), 1e-6, 1.0 - 1e-6)
    v = np.where(free, np.log(p / (1.0 - p)), 0.0)
    m1 = np.zeros_like(v)
    m2 = np.zeros_like(v)
    b1, b2, eps = 0.9, 0.999, 1e-8
    start_decay = warmup * iters
    recon = reg = 0.0
    for it in range(iters):  # Adam steps: each is one (rows, in) x (in, in) product
        b: float | None = None
        if it >= start_decay:
            rel = (it - start_decay) / max(iters - start_decay, 1.0)
            b = beta[1] + (beta[0] - beta[1]) * max(0.0, 1.0 - rel)
        recon, reg, g = relaxed_loss(v, gram, residual, u, free, lam, b)
        m1 = b1 * m1 + (1.0 - b1) * g
        m2 = b2 * m2 + (1.0 - b2) * g * g
        t = it + 1
        v = v - lr * (m1 / (1.0 - b1**t)) / (np.sqrt(m2 / (1.0 - b2**t)) + eps)
    h, _ = _rectified(v)
    bits: Bits = ((h >= 0.5) & free).astype(np.int8)
    soft = float(np.mean(np.minimum(h, 1.0 - h)[free])) if free.any() else 0.0
    return bits, {"relaxed_objective": recon, "regulariser": reg, "mean_distance_to_binary": soft}


def adaround_rows_torch(
    gram: FloatArray,
    residual: FloatArray,
    step: FloatArray,
    frac: FloatArray,
    free: npt.NDArray[np.bool_],
    *,
    iters: int,
    lr: float,
    lam: float,
    warmup: float,
    beta: tuple[float, float],
) -> tuple[Bits, dict[str, float]]:
    """:func:`adaround_rows` with torch autograd and ``torch.optim.Adam`` (float64, CPU): the
    same loss, schedule and initialisation, for users who want the authors' framework."""
    torch: Any = require("torch", "torch")
    f64 = torch.float64
    g = torch.tensor(np.array(gram), dtype=f64)
    r = torch.tensor(np.array(residual), dtype=f64)
    mask = torch.tensor(np.array(free))
    u = torch.where(
        mask, torch.tensor(np.array(step), dtype=f64)[:, None], torch.zeros((), dtype=f64)
    )
    p = np.clip((frac - GAMMA) / (ZETA - GAMMA), 1e-6, 1.0 - 1e-6)
    v0 = np.where(free, np.log(p / (1.0 - p)), 0.0)
    v = torch.tensor(v0, dtype=f64, requires_grad=True)
    opt = torch.optim.Adam([v], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    start_decay = warmup * iters
    recon = reg = 0.0
    for it in range(iters):
        opt.zero_grad()
        h = torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0.0, 1.0)
        e = r - u * h
        rec = torch.sum((e @ g) * e)
        loss = rec
        reg = 0.0
        if it >= start_decay:
            rel = (it - start_decay) / max(iters - start_decay, 1.0)
            b = beta[1] + (beta[0] - beta[1]) * max(0.0, 1.0 - rel)
            term = lam * torch.sum(torch.where(mask, 1.0 - torch.abs(2.0 * h - 1.0) ** b, 0.0))
            loss = loss + term
            reg = float(term.detach())
        recon = float(rec.detach())
        loss.backward()
        with torch.no_grad():
            v.grad[~mask] = 0.0
        opt.step()
    with torch.no_grad():
        h = torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0.0, 1.0).numpy()
    bits: Bits = ((h >= 0.5) & free).astype(np.int8)
    soft = float(np.mean(np.minimum(h, 1.0 - h)[free])) if free.any() else 0.0
    return bits, {"relaxed_objective": recon, "regulariser": reg, "mean_distance_to_binary": soft}


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    rb = rounding_block(block, "adaround")
    iters = option_int(options, "iters", 1000, 1)
    lr = option_float(options, "lr", 1e-2, 0.0)
    lam = option_float(options, "lam", 0.01, 0.0)
    warmup = option_float(options, "warmup", 0.2, 0.0)
    if warmup >= 1.0:
        raise ValidationError(f"warmup is a fraction of the iterations in [0, 1), got {warmup}")
    beta = options.get("beta", (20.0, 2.0))
    if (
        not isinstance(beta, tuple | list)
        or len(beta) != 2
        or not all(isinstance(b, int | float) and np.isfinite(b) and b >= 1.0 for b in beta)
    ):
        raise ValidationError(f"beta must be a pair (start, end) of numbers >= 1, got {beta!r}")
    engine = options.get("engine", "numpy")
    if engine not in ("numpy", "torch"):
        raise ValidationError(f"engine must be 'numpy' or 'torch', got {engine!r}")
    solve_rows = adaround_rows if engine == "numpy" else adaround_rows_torch
    w2 = rb.weight.reshape(rb.num_channels, -1)
    grid = rb.grid
    t = grid.coordinates(w2)
    low = np.floor(t)
    free = np.asarray(rb.free, dtype=bool)
    base = grid.value(np.where(free, low, np.clip(low, grid.qmin, grid.qmax)))
    bits, record = solve_rows(
        rb.gram,
        w2 - base,
        np.asarray(grid.scale, dtype=np.float64),
        np.where(free, t - low, 0.0),
        free,
        iters=iters,
        lr=lr,
        # lam is in the paper's units: its reconstruction term is the mean over the C output
        # features, ours (the layer objective) their sum, so the regulariser weighs lam * C here
        lam=lam * rb.num_channels,
        warmup=warmup,
        beta=(float(beta[0]), float(beta[1])),
    )
    info["adaround"] = {
        "iters": iters,
        "lr": lr,
        "lam": lam,
        "warmup": warmup,
        "beta": (float(beta[0]), float(beta[1])),
        "seed": options.get("seed"),
        "engine": engine,
        **record,
    }
    return Answer(bits)


ADAROUND = Method(
    "adaround",
    ("iters", "lr", "lam", "warmup", "beta", "seed", "engine"),
    _run,
    summary="AdaRound's rectified-sigmoid relaxation, Adam on the Gram objective (numpy)",
)
