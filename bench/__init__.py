"""Benchmarks (`make bench`): numbers for the README, measured, never asserted in tests."""
