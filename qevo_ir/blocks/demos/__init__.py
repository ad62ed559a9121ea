"""Real models for :func:`~qevo_ir.blocks.quantize_model`, trained locally, and their results table.

Three models, no download: the digits MLP of :mod:`qevo_ir.blocks.digits_demo` (64-32-10), a
small CNN on the same 8x8 digits, and a character-level transformer trained on Python source
files that ship with every CPython (``sysconfig.get_paths()["stdlib"]``). :func:`run_model_demo`
quantizes one of them at several bit widths with every method and prints the per-layer
objectives, test accuracy or perplexity, and seconds (``qevo demo --model NAME``).

Importing this package does not import torch; :mod:`.models` and :mod:`.table` do, when their
functions are called.
"""

from qevo_ir.blocks.demos.table import DEMO_MODELS, demo_methods, run_model_demo

__all__ = ["DEMO_MODELS", "demo_methods", "run_model_demo"]
