"""What the demo says to its users: the ethics and privacy box and the notice about the training data.

Torch-free. Wording rules: every output is an *estimate* of what a model computes from pixels, never a
statement about the person ("you are ..."); race is shown as a distribution, never one verdict.
"""

from __future__ import annotations

ETHICS_TITLE = "Ethics and privacy"

ETHICS = """\
**What this is:** a research demo of a model that *estimates* age, gender and race from face pixels.
The numbers are the model's guesses with their uncertainty, not facts about anyone. Gender and race are
social and self-identified; a photo cannot tell them, and the labels here are only the categories of the
training data.

**Do not** use these estimates to make decisions about people (hiring, access, policing, pricing, age
checks). Such models are less accurate for some groups than for others: the *Fairness* tab shows by
how much for this model.

**Privacy:** photos and camera snapshots are processed in memory on this machine and never stored, logged
or sent anywhere. Only upload photos of people who agreed to it.
"""

SYNTHETIC_NOTICE = ("This model was trained on visage's **synthetic** faces (drawn shapes, not photos of people). "
                    "Its outputs on real photos mean nothing: they show how the pipeline works, not what anyone looks like.")


def training_notice(dataset: str | None) -> str:
    """Return the notice about the data the model was trained on (its name as the run recorded it)."""
    if dataset in (None, ""):
        return "The data this model was trained on is not recorded in its run; treat every estimate as unverified."
    if dataset == "synthetic":
        return SYNTHETIC_NOTICE
    return (f"This model was trained on **{dataset}**. Its estimates reflect who is in that data set and how they "
            f"were labelled; expect larger errors for people unlike them (see the *Fairness* tab).")


def age_text(age: dict | None, coverage: float | None) -> str | None:
    """Return the age estimate in words, with its interval, or None when the model has no age head."""
    if not age:
        return None
    interval = age.get("interval")
    if not interval:
        return f"Estimated age: {age['estimate']:.0f} years (no interval available)"
    share = f"{100 * coverage:.0f}% " if coverage else ""
    return (f"Estimated age: {age['estimate']:.0f} years; {share}interval {interval[0]:.0f}–{interval[1]:.0f} "
            "(from this model's errors on its own validation faces)")


def label_text(task: str, value: dict) -> str:
    """Return a two-class estimate in words with its probability."""
    return f"Estimated {task}: {value['label']} (model probability {value['probability']:.2f})"


def distribution_caption(task: str) -> str:
    """Return the caption under a many-class distribution (e.g. race)."""
    return (f"Estimated {task} distribution: the model's probabilities over its training categories, "
            "not a fact about the person.")
