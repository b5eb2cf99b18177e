"""Demo data and simulated traffic for the quick start and the bench.

Uses the public functions of the other areas, nothing private.
"""
