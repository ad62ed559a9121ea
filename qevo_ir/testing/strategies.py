"""Hypothesis strategies for Hamiltonians, k-local polynomials, labels and parameter models,
edge cases included.

``hamiltonians()`` draws either vartype, optional labels (ints, strings, tuples), and covers the
empty problem, isolated variables, explicit zero couplings, and tiny and huge magnitudes.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.vartypes import BINARY, SPIN, Vartype

__all__ = [
    "all_assignments",
    "coefficients",
    "hamiltonians",
    "labels",
    "parameter_models",
    "polynomials",
    "spin_hamiltonians",
]


def coefficients(*, extreme: bool = True) -> st.SearchStrategy[float]:
    """Finite floats, mostly moderate, sometimes tiny or huge, integers often (to force ties)."""
    moderate = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    small_int = st.integers(-3, 3).map(float)
    choices: list[st.SearchStrategy[float]] = [moderate, small_int]
    if extreme:
        tiny = st.floats(1e-12, 1e-6).flatmap(lambda x: st.sampled_from([x, -x]))
        huge = st.floats(1e5, 1e8).flatmap(lambda x: st.sampled_from([x, -x]))
        choices += [tiny, huge]
    return st.one_of(*choices)


def labels() -> st.SearchStrategy[Any]:
    """One variable label: an int, a string, or a short tuple of those."""
    atom = st.one_of(st.integers(-1000, 1000), st.text(min_size=1, max_size=6))
    return st.one_of(atom, st.tuples(atom, atom), st.tuples(st.text(max_size=3), st.integers(0, 9)))


@st.composite
def hamiltonians(
    draw: st.DrawFn,
    *,
    min_variables: int = 0,
    max_variables: int = 8,
    vartype: Vartype | None = None,
    labelled: bool | None = None,
    extreme: bool = False,
    density: float | None = None,
) -> Hamiltonian:
    """A random Hamiltonian.

    ``vartype``/``labelled``: fixed, or drawn when ``None``. ``extreme`` mixes tiny and huge
    magnitudes into the coefficients. ``density``: probability of each coupling (drawn if None).
    Explicit zero couplings are kept sometimes (``keep_zeros``) to exercise that path.
    """
    n = draw(st.integers(min_variables, max_variables))
    vt = vartype if vartype is not None else draw(st.sampled_from([SPIN, BINARY]))
    coef = coefficients(extreme=extreme)
    h = np.array(draw(st.lists(coef, min_size=n, max_size=n)), dtype=np.float64)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    p = density if density is not None else draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    mask = draw(st.lists(st.floats(0, 1), min_size=len(pairs), max_size=len(pairs)))
    chosen = [pair for pair, u in zip(pairs, mask, strict=True) if u < p]
    values = draw(st.lists(coef, min_size=len(chosen), max_size=len(chosen)))
    keep_zeros = draw(st.booleans())
    if keep_zeros and chosen:
        values[0] = 0.0
    offset = draw(coef)
    row = np.array([a for a, _ in chosen], dtype=np.int64)
    col = np.array([b for _, b in chosen], dtype=np.int64)
    use_labels = labelled if labelled is not None else draw(st.booleans())
    names = None
    if use_labels:
        names = draw(st.lists(labels(), min_size=n, max_size=n, unique_by=_label_key))
    return Hamiltonian(
        h,
        row,
        col,
        np.array(values, dtype=np.float64),
        offset,
        vartype=vt,
        variables=names,
        keep_zeros=keep_zeros,
    )


@st.composite
def polynomials(
    draw: st.DrawFn,
    *,
    min_variables: int = 0,
    max_variables: int = 6,
    max_degree: int = 4,
    max_terms: int = 12,
    vartype: Vartype | None = None,
    labelled: bool | None = None,
    extreme: bool = False,
) -> PolynomialHamiltonian:
    """A random k-local :class:`PolynomialHamiltonian` (degree at most ``max_degree``).

    Terms may repeat a variable (canonicalised away: ``x² = x``, ``s² = 1``) and cancel each
    other; ``vartype``/``labelled`` fixed or drawn; ``extreme`` mixes tiny and huge magnitudes in.
    """
    n = draw(st.integers(min_variables, max_variables))
    vt = vartype if vartype is not None else draw(st.sampled_from([SPIN, BINARY]))
    coef = coefficients(extreme=extreme)
    terms: dict[tuple[int, ...], float] = {}
    if n:
        for _ in range(draw(st.integers(0, max_terms))):
            d = draw(st.integers(1, min(max_degree, n)))
            term = tuple(draw(st.lists(st.integers(0, n - 1), min_size=d, max_size=d)))
            terms[term] = terms.get(term, 0.0) + draw(coef)
    use_labels = labelled if labelled is not None else draw(st.booleans())
    names: list[Any] = list(range(n))
    if use_labels:
        names = draw(st.lists(labels(), min_size=n, max_size=n, unique_by=_label_key))
    named = {tuple(names[i] for i in term): c for term, c in terms.items()}
    return PolynomialHamiltonian.from_terms(named, draw(coef), vartype=vt, variables=names)


def _label_key(label: Any) -> Any:
    return label


def spin_hamiltonians(**kwargs: Any) -> st.SearchStrategy[Hamiltonian]:
    """:func:`hamiltonians` restricted to SPIN."""
    return hamiltonians(vartype=SPIN, **kwargs)


@st.composite
def parameter_models(
    draw: st.DrawFn,
    *,
    min_parameters: int = 1,
    max_parameters: int = 4,
    integer: bool | None = None,
) -> ParameterModel:
    """A random ParameterModel with a symmetric dense Q and bounds ``lower < upper``."""
    p = draw(st.integers(min_parameters, max_parameters))
    vals = st.floats(-5, 5, allow_nan=False)
    q = np.array(draw(st.lists(vals, min_size=p * p, max_size=p * p))).reshape(p, p)
    g = np.array(draw(st.lists(vals, min_size=p, max_size=p)))
    lower = np.array(draw(st.lists(st.integers(-4, 2), min_size=p, max_size=p)), dtype=float)
    width = np.array(draw(st.lists(st.integers(1, 5), min_size=p, max_size=p)), dtype=float)
    ints = integer if integer is not None else draw(st.booleans())
    return ParameterModel.create(
        (q + q.T) / 2, g, draw(vals), lower=lower, upper=lower + width, integer=ints
    )


def all_assignments(n: int, vartype: Vartype) -> npt.NDArray[np.int8]:
    """Every assignment of ``n`` variables as a ``(2**n, n)`` int8 array (small ``n`` only)."""
    lo, hi = vartype.values
    if n == 0:
        return np.zeros((1, 0), dtype=np.int8)
    return np.array(list(itertools.product((lo, hi), repeat=n)), dtype=np.int8)
