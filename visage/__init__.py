"""visage: Hydra-configured bias and fairness studies of face-attribute models.

Importing visage keeps it private by default (W&B offline, no library update checks); see
`visage.core.privacy`.
"""

from visage.core.privacy import set_private_defaults

set_private_defaults()

__version__ = "0.1.0"
