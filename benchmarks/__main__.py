"""``python -m benchmarks``: run the benchmark harness (see :func:`benchmarks.run.main`)."""

from benchmarks.run import main

if __name__ == "__main__":
    raise SystemExit(main())
