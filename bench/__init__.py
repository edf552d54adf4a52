"""Benchmarks (`make bench`): numbers for docs/benchmarks.md, measured, never asserted in tests."""
