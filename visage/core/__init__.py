"""Torch-free shared names and helpers: the run contract, task and split names, errors, age bins, metric specs.

Nothing in `visage.core` imports torch, Lightning or Hydra, so the fairness and reporting stages can use it
on a machine without the training stack.
"""
