"""One module per ``qevo`` command; each has ``add_parser(subparsers)`` that sets ``run``."""

from qevo_ir.cli.commands import (
    backends_cmd,
    bench_cmd,
    compile_block_cmd,
    compile_cmd,
    convert_cmd,
    demo_cmd,
    example_cmd,
    inspect_cmd,
    passes_cmd,
    solve_cmd,
    solve_many_cmd,
    verify_cmd,
)

ALL = (
    demo_cmd,
    example_cmd,
    inspect_cmd,
    solve_cmd,
    solve_many_cmd,
    convert_cmd,
    compile_cmd,
    compile_block_cmd,
    verify_cmd,
    passes_cmd,
    backends_cmd,
    bench_cmd,
)
