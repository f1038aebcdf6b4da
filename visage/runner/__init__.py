"""What the commands share: command-line checks, builders, loading a run, scoring, tracking, sweep jobs."""
