"""Names every stage agrees on: tasks, splits and the grouping columns of the predictions table."""

from __future__ import annotations

AGE = "age"
CLASSIFICATION_TASKS = ("gender", "race", "emotion")
TASKS = (AGE, *CLASSIFICATION_TASKS)
SPLITS = ("train", "val", "test")
# Columns of the predictions table holding each sample's true group, for fairness analyses.
GROUP_COLUMNS = ("race", "gender", "age_bin")
DEFAULT_ATTRIBUTES = ("race", "gender", "age_bin", "race*gender", "race*age_bin")
INTERSECTION = "*"
