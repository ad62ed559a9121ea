"""Model blocks: neural-network layers and feature sets written as Hamiltonians, with baselines.

Each block (AdaRound-style rounding of a linear or conv layer, k-bit weight refitting, pruning
masks, MI feature selection) is one QUBO per output channel sharing the calibration Gram
matrix; :func:`solve_block` and :func:`compare_methods` solve it and set every solver beside
the classical baselines (round-to-nearest, greedy descent, GPTQ, AdaRound; :data:`METHODS`
lists every registered method, one module each in :mod:`qevo_ir.blocks.methods`). See
``specs/blocks.md``.
"""

from qevo_ir.blocks.base import GramBlock, reconstruction_error
from qevo_ir.blocks.batch import Cardinality, GramBatch
from qevo_ir.blocks.conv import Conv2dRounding, im2col
from qevo_ir.blocks.features import FeatureSelect
from qevo_ir.blocks.integer import INTEGER_ENCODINGS, IntegerWeights
from qevo_ir.blocks.least_squares import BinaryLeastSquares
from qevo_ir.blocks.linear import LinearRounding, UniformGrid, uniform_grid
from qevo_ir.blocks.prune import PruneMask
from qevo_ir.blocks.quantize_model import QuantizedModel, quantize_model
from qevo_ir.blocks.solve import METHODS, BlockSolution, compare_methods, solve_block
from qevo_ir.blocks.torch_adapters import from_torch_conv2d, from_torch_linear

__all__ = [
    "INTEGER_ENCODINGS",
    "METHODS",
    "BinaryLeastSquares",
    "BlockSolution",
    "Cardinality",
    "Conv2dRounding",
    "FeatureSelect",
    "GramBatch",
    "GramBlock",
    "IntegerWeights",
    "LinearRounding",
    "PruneMask",
    "QuantizedModel",
    "UniformGrid",
    "compare_methods",
    "from_torch_conv2d",
    "from_torch_linear",
    "im2col",
    "quantize_model",
    "reconstruction_error",
    "solve_block",
    "uniform_grid",
]
