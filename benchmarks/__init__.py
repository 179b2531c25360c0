"""On-demand benchmarks; `python -m benchmarks` prints a table. Never run by the test suite."""
