"""Benchmarks: run from the project root (see docs/benchmarks.md)."""
