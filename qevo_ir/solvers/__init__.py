"""Exact and bounding algorithms in the core, used by passes and by the ``exact``/``mip`` plugins.

:mod:`qevo_ir.solvers.enumerate` is the exhaustive kernel (``n`` up to about 34);
:mod:`qevo_ir.solvers.tree` is variable elimination over a tree decomposition (any ``n`` whose
treewidth fits the memory budget); :mod:`qevo_ir.solvers.bounds` gives lower bounds for results
that are not proved optimal; :mod:`qevo_ir.solvers.persistency` gives roof duality's strong
persistencies, each certified, from a maximum flow (:mod:`qevo_ir.solvers.maxflow`). They depend
on numpy and scipy only (numba, when it imports, runs the max flow; the roof-duality *bound*
imports ``dwave-preprocessing`` lazily, extra ``roof``).
"""
