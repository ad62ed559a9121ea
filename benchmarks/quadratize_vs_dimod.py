"""Auxiliary variables of ``quadratize`` beside ``dimod.make_quadratic``, for specs/passes.md.

    PYTHONPATH=.:backends python -m benchmarks.quadratize_vs_dimod [--skip-large]

1. 360 random BINARY inputs of degree 3–5 (four seeds × 90; n 8–40, 10–400 terms of one
   degree): ours beside dimod given the polynomial's own terms (``poly.to_terms()``, the bound
   that always holds) and given the terms in the order they were generated (dimod's count
   depends on the order), with which bound the report claims, and how often dimod's own choices
   were kept (the one process-dependent candidate).
2. Lone SPIN terms of degree 3–12 and 16 (dimod reduces them in SPIN, two variables per
   product), with our time.
3. Random sparse cubic inputs (the speed workload's shape): counts, the claimed bound, and both
   times, dimod in the generated and in a shuffled order.
4. Random sparse quartic inputs (one giant component: not certified, so dimod's rule is replayed):
   ours with and without ``match_dimod`` beside dimod.
5. 6,000 disjoint copies of five quartic terms, where dimod's own choices win.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from qevo_ir.passes.quadratize import quadratize
from qevo_ir.polynomial import PolynomialHamiltonian


def _dimod(terms: dict[tuple[Any, ...], float], vartype: str) -> int:
    import dimod

    used = set().union(*map(set, terms))
    return int(dimod.make_quadratic(terms, 5.0, vartype).num_variables) - len(used)


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _binary_poly(idx: np.ndarray, coef: np.ndarray, n: int) -> PolynomialHamiltonian:
    """A BINARY polynomial of the ``(T, d)`` ascending rows ``idx`` over ``n`` variables."""
    t, d = idx.shape
    return PolynomialHamiltonian(
        np.arange(t + 1) * d, idx.reshape(-1), coef, num_variables=n, vartype="BINARY"
    )


def random_inputs() -> None:
    tally: Counter[tuple[str, str]] = Counter()
    totals = np.zeros(3, dtype=np.int64)
    replay_won = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for _ in range(90):
            n, t, d = int(rng.integers(8, 41)), int(rng.integers(10, 401)), int(rng.integers(3, 6))
            terms: dict[tuple[Any, ...], float] = {}
            for _ in range(t):
                key = tuple(sorted(rng.choice(n, d, replace=False).tolist()))
                terms[key] = float(rng.normal())
            p = PolynomialHamiltonian.from_terms(terms, vartype="BINARY", variables=range(n))
            details = quadratize(p).details
            ours = int(details["auxiliary_variables"])
            own, generated = _dimod(p.to_terms(), "BINARY"), _dimod(terms, "BINARY")
            if ours > own:
                raise AssertionError(f"above dimod on the polynomial's own order: {ours} > {own}")
            verdict = "above" if ours > generated else ("equal" if ours == generated else "below")
            tally[details["no_more_than_dimod"], verdict] += 1
            totals += (ours, own, generated)
            replay_won += bool(details["from_dimod_replay"])
    print("360 random BINARY inputs, degree 3-5 (bound claimed, against dimod's generated order):")
    for (bound, verdict), k in sorted(tally.items()):
        print(f"  {bound:16s} {verdict:6s} {k}")
    print(f"  totals: ours {totals[0]:,}, dimod own order {totals[1]:,}, generated {totals[2]:,}")
    print(f"  dimod's own choices kept (fewer than every deterministic candidate): {replay_won}")


def spin_terms() -> None:
    print("lone SPIN terms (ours / dimod, encoding, our time):")
    for d in [*range(3, 13), 16]:
        p = PolynomialHamiltonian.from_terms({tuple(range(d)): 1.0}, vartype="SPIN")
        out, seconds = _timed(quadratize, p)
        theirs = _dimod(p.to_terms(), "SPIN")
        print(
            f"  degree {d:2d}: {out.details['auxiliary_variables']:3d} / {theirs:3d}  "
            f"{out.details['encoding']}, {seconds * 1e3:.1f} ms"
        )


def disjoint_copies(copies: int) -> None:
    """The review's input: ``copies`` disjoint copies (string labels) of five quartic terms, where
    dimod's own choices win (one product per round)."""
    base = [(0, 1, 2, 5), (0, 1, 4, 5), (1, 3, 4, 5), (0, 1, 3, 4), (0, 2, 4, 5)]
    terms = {tuple(f"c{c}_{v}" for v in t): 1.0 for c in range(copies) for t in base}
    p = PolynomialHamiltonian.from_terms(terms, vartype="BINARY")
    print(f"{copies:,} disjoint copies of five quartic terms:")
    for match in (True, False):
        out, seconds = _timed(quadratize, p, match_dimod=match)
        d = out.details
        print(
            f"  match_dimod={match}: {d['auxiliary_variables']:,} ({d['no_more_than_dimod']}, "
            f"dimod's choices kept: {d['from_dimod_replay']}) in {seconds:.2f} s"
        )
    theirs, theirs_s = _timed(_dimod, p.to_terms(), "BINARY")
    print(f"  dimod: {theirs:,} in {theirs_s:.2f} s")


def sparse_cubic(sizes: list[tuple[int, int]]) -> None:
    print("random sparse cubic inputs:")
    for n, t in sizes:
        rng = np.random.default_rng(0)
        a = rng.integers(0, n, size=(2 * t, 3))
        ok = (a[:, 0] != a[:, 1]) & (a[:, 0] != a[:, 2]) & (a[:, 1] != a[:, 2])
        idx = np.sort(a[ok][:t], axis=1)
        coef = rng.normal(size=t)
        poly = _binary_poly(idx, coef, n)
        out, ours_s = _timed(quadratize, poly)
        details = out.details
        terms = {tuple(int(v) for v in r): float(c) for r, c in zip(idx, coef, strict=True)}
        generated, theirs_s = _timed(_dimod, terms, "BINARY")
        items = list(terms.items())
        rng.shuffle(items)  # type: ignore[arg-type]
        shuffled = _dimod(dict(items), "BINARY")
        print(
            f"  {len(terms):,} terms over {n:,}: ours {details['auxiliary_variables']:,} "
            f"({details['no_more_than_dimod']}, {details['exact_covers']} exact covers) in "
            f"{ours_s:.2f} s; dimod {generated:,} (shuffled {shuffled:,}) in {theirs_s:.2f} s"
        )


def sparse_quartic(sizes: list[tuple[int, int]]) -> None:
    print("random sparse quartic inputs:")
    for n, t in sizes:
        rng = np.random.default_rng(0)
        idx = np.sort(np.stack([rng.choice(n, 4, replace=False) for _ in range(t)]), axis=1)
        poly = _binary_poly(idx, rng.normal(size=t), n)
        cells = []
        for match in (True, False):
            out, seconds = _timed(quadratize, poly, match_dimod=match)
            details = out.details
            cells.append(
                f"{details['auxiliary_variables']:,} ({details['no_more_than_dimod']}) in "
                f"{seconds:.2f} s"
            )
        theirs, theirs_s = _timed(_dimod, poly.to_terms(), "BINARY")
        print(
            f"  {poly.num_terms:,} terms over {n:,}: ours {cells[0]}; match_dimod=false "
            f"{cells[1]}; dimod {theirs:,} in {theirs_s:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="skip the 10^5-term inputs")
    args = parser.parse_args()
    random_inputs()
    spin_terms()
    sizes = [(200, 2_000), (1_000, 20_000)] + ([] if args.skip_large else [(2_000, 100_000)])
    sparse_cubic(sizes)
    sparse_quartic([(2_000, 20_000)] + ([] if args.skip_large else [(2_000, 100_000)]))
    disjoint_copies(6_000)


if __name__ == "__main__":
    main()
