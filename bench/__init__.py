"""Benchmarks: ``make bench``. They print numbers (and ratios measured in the same run); they never assert a time."""
