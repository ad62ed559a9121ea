"""qevo_ir's benchmarks beside its peers (dimod, PyQUBO, qiskit-optimization, qiskit-aer, Cirq,
minorminer): ``python -m benchmarks`` or ``qevo bench``; the latest table is in RESULTS.md."""
