"""Quantise a small digits MLP with round-to-nearest, greedy and QUBO rounding (SA, exact, QAOA).

A thin script over :func:`qevo_ir.blocks.digits_demo.run_digits_demo`; needs scikit-learn for
the bundled digits data. Run: ``python examples/digits_mlp.py [--quick] [--seed N]``.
"""

from __future__ import annotations

import argparse

from qevo_ir.blocks.digits_demo import run_digits_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer bit widths and reads")
    parser.add_argument("--seed", type=int, default=0, help="seed for data split, training, SA")
    args = parser.parse_args()
    run_digits_demo(quick=args.quick, seed=args.seed)


if __name__ == "__main__":
    main()
