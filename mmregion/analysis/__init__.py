"""Benchmarks (timed against a peer in the same run; never in unit tests)."""
