"""Fairness evaluation on predictions tables and JSON alone (no torch, no Lightning)."""
