"""Everything visage writes for people to read, built from tables and JSON alone (no torch).

Sub-packages by what they produce: `datacards` (data cards of a dataset), `summaries` (a sweep's
summary.csv per job and summary_by_config.csv over seeds, and the job rows both read), `report` (the
model-card report: a document of blocks built from the numbers, rendered to Markdown, HTML and LaTeX).
`markdown` holds the one Markdown-table helper and escaping; `comparison` renders `visage.compare`'s compare.md.
"""
