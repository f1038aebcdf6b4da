"""visage: Hydra-configured bias and fairness studies of face-attribute models."""

__version__ = "0.1.0"
