"""Datasets (synthetic and real), splits and the LightningDataModule."""
