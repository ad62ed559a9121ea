"""Exact and bounding algorithms in the core, used by passes and by the ``exact``/``mip`` plugins.

:mod:`qevo_ir.solvers.enumerate` is the exhaustive kernel (``n`` up to about 34);
:mod:`qevo_ir.solvers.tree` is variable elimination over a tree decomposition (any ``n`` whose
treewidth fits the memory budget); :mod:`qevo_ir.solvers.bounds` gives lower bounds for results
that are not proved optimal. They depend on numpy only (roof duality imports
``dwave-preprocessing`` lazily, extra ``roof``).
"""
