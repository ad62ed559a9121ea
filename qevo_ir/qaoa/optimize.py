"""QAOA angle optimisation with scipy and exact (adjoint) gradients."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from qevo_ir.qaoa.simulate import Engine, _prepare_diagonal, _value_grad_prepared, resolve_engine

__all__ = ["AngleResult", "optimize_angles"]

FloatArray = npt.NDArray[np.float64]

_GRADIENT_METHODS = frozenset({"L-BFGS-B", "BFGS", "CG", "TNC", "SLSQP", "TRUST-CONSTR"})


@dataclass(frozen=True)
class AngleResult:
    """Outcome of :func:`optimize_angles`.

    Attributes
    ----------
    gammas, betas : numpy.ndarray, shape (p,)
        Best angles found.
    expectation : float
        ``⟨H_C⟩`` at those angles (never above the ``p = 0`` value ``mean(diagonal)``).
    evaluations : int
        Number of expectation(+gradient) simulations run, over all restarts.
    seconds : float
        Wall-clock time spent.
    restarts : int
        Number of local optimisations run.
    """

    gammas: FloatArray
    betas: FloatArray
    expectation: float
    evaluations: int
    seconds: float
    restarts: int


#: Largest max |E| optimised as given; above it the diagonal is rescaled by a power of two.
_RESCALE_ABOVE = 2.0**100


def _flip_scale(diag: FloatArray, n: int) -> float:
    """RMS energy change of a single spin flip (sets the natural scale of gamma)."""
    if n == 0:
        return 1.0
    total = 0.0
    view_count = 0
    for i in range(n):
        v = diag.reshape(-1, 2, 1 << i)
        d = v[:, 1, :] - v[:, 0, :]
        total += float(np.mean(d * d))
        view_count += 1
    rms = math.sqrt(total / view_count)
    return rms if rms > 0.0 else 1.0


def optimize_angles(
    diagonal: npt.ArrayLike,
    p: int,
    *,
    seed: int | None = None,
    restarts: int = 4,
    method: str = "L-BFGS-B",
    maxiter: int = 200,
    tol: float = 1e-6,
    engine: Engine = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> AngleResult:
    """Minimise the QAOA energy ``⟨H_C⟩`` over ``2p`` angles.

    The first start is a linear-ramp (annealing-like) schedule scaled by the RMS single-flip
    energy change; further starts perturb it randomly. Gradients are exact (adjoint method,
    :func:`qevo_ir.qaoa.qaoa_expectation_and_gradient`).

    Parameters
    ----------
    diagonal : array_like, shape (2**n,)
        Cost energies (see :func:`qevo_ir.qaoa.cost_diagonal`).
    p : int
        Circuit depth (``>= 0``); ``p = 0`` returns empty angles and ``mean(diagonal)``.
    seed : int, optional
        Seed for the random restarts (deterministic for a given seed).
    restarts : int, optional
        Number of local optimisations (``>= 1``).
    method : str, optional
        :func:`scipy.optimize.minimize` method; gradient-based methods receive the exact
        gradient, others (e.g. ``"Nelder-Mead"``, ``"COBYLA"``) only values.
    maxiter : int, optional
        Iteration cap per local optimisation.
    tol : float, optional
        Tolerance passed to :func:`scipy.optimize.minimize` (for L-BFGS-B: relative energy
        decrease and projected-gradient thresholds).
    engine : {"auto", "numpy", "numba"}, optional
        Simulation engine.
    progress : callable, optional
        Called as ``progress(restarts_done, restarts)`` after each local optimisation.

    Returns
    -------
    AngleResult
        Best angles, their energy, evaluation count and wall time.

    Raises
    ------
    ValueError
        On ``p < 0``, ``restarts < 1``, ``maxiter < 1`` or an invalid diagonal.
    """
    start = time.perf_counter()
    if p < 0:
        raise ValueError(f"p must be >= 0, got {p}")
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    if maxiter < 1:
        raise ValueError(f"maxiter must be >= 1, got {maxiter}")
    diag, n, max_abs = _prepare_diagonal(diagonal)
    resolve_engine(engine, n)  # validate the engine name up front
    # QAOA with (diagonal D, angle γ) equals QAOA with (D / f, f γ). Energies above 2**100 would
    # overflow when squared (flip scale, gradients), so optimise D / f with f an exact power of
    # two (no rounding) and map γ and ⟨H_C⟩ back. Ordinary inputs are untouched (f = 1).
    unit = math.ldexp(1.0, math.frexp(max_abs)[1]) if max_abs > _RESCALE_ABOVE else 1.0
    if unit != 1.0:
        diag, max_abs = diag / unit, max_abs / unit
    baseline = float(np.mean(diag))  # in units of ``unit``, like every energy below
    empty = np.zeros(0, dtype=np.float64)
    if p == 0:
        return AngleResult(empty, empty.copy(), baseline * unit, 0, time.perf_counter() - start, 0)

    use_grad = method.upper() in _GRADIENT_METHODS
    evaluations = 0

    def objective(theta: FloatArray) -> Any:
        nonlocal evaluations
        evaluations += 1
        theta = np.asarray(theta, dtype=np.float64)
        if not np.all(np.isfinite(theta)):
            raise ValueError("optimiser produced non-finite angles")
        energy, dg, db = _value_grad_prepared(
            diag, n, max_abs, theta[:p].copy(), theta[p:].copy(), engine
        )
        if use_grad:
            return energy, np.concatenate([dg, db])
        return energy

    scale = _flip_scale(diag, n)
    ramp = (np.arange(p, dtype=np.float64) + 0.5) / p
    gamma0 = 1.0 / scale * ramp  # gamma grows, β shrinks: discretised annealing
    beta0 = 0.6 * (1.0 - ramp) + 0.1
    rng = np.random.default_rng(seed)
    best_theta = np.zeros(2 * p, dtype=np.float64)
    best_energy = baseline
    for r in range(restarts):
        if r == 0:
            theta0 = np.concatenate([gamma0, beta0])
        else:
            theta0 = np.concatenate(
                [
                    gamma0 * rng.uniform(0.3, 2.0) + rng.normal(0.0, 0.3 / scale, p),
                    beta0 * rng.uniform(0.5, 1.5) + rng.normal(0.0, 0.15, p),
                ]
            )
        res = minimize(
            objective,
            theta0,
            jac=use_grad,
            method=method,
            tol=tol,
            options={"maxiter": maxiter},
        )
        energy = float(res.fun)
        if energy < best_energy:
            best_energy = energy
            best_theta = np.asarray(res.x, dtype=np.float64)
        if progress is not None:
            progress(r + 1, restarts)
    best_theta[:p] /= unit
    return AngleResult(
        gammas=best_theta[:p].copy(),
        betas=best_theta[p:].copy(),
        expectation=best_energy * unit,
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        restarts=restarts,
    )
