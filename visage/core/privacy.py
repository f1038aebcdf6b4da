"""Nothing leaves the machine by default: the environment switches that keep libraries offline and quiet.

`set_private_defaults` runs when the `visage` package is imported, before any library visage uses
is imported through it, so the defaults hold from the command line and from Python alike. Each is a
default only: a variable the user has set is left as it is (e.g. `WANDB_MODE=online` to sync).
"""

from __future__ import annotations

import os

PRIVATE_DEFAULTS = {
    "NO_ALBUMENTATIONS_UPDATE": "1",  # albumentations asks PyPI for a newer version on import otherwise
    "WANDB_MODE": "offline",  # W&B runs are written to the run dir, not uploaded
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",  # no git remote or diff recorded with a run
    "HF_HUB_DISABLE_TELEMETRY": "1",  # Hugging Face Hub (timm weights): no usage telemetry
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",  # the demo app sends no usage statistics
}


def set_private_defaults() -> dict[str, str]:
    """Set every unset variable of `PRIVATE_DEFAULTS` in `os.environ`; return the ones this call set."""
    changed = {}
    for key, value in PRIVATE_DEFAULTS.items():
        if key not in os.environ:
            os.environ[key] = value
            changed[key] = value
    return changed
