"""Benchmarks. They print their figures; results are recorded in docs/benchmarks.md."""
