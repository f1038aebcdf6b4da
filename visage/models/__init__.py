"""Backbones, heads, networks, the LightningModule and prediction tables."""
