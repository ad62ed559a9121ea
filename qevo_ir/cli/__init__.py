"""The ``qevo`` command line: a thin layer over :mod:`qevo_ir`'s Python API."""
