"""Data cards and fairness reports, built from tables and JSON alone (no torch)."""
