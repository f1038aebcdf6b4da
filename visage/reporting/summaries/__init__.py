"""Sweep summaries: the jobs of a sweep, one row per job (summary.csv) and one per configuration over seeds."""
