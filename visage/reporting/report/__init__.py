"""The report: `build` makes a document (blocks) and report.json from a run, sweep or predictions file; `render_md`,
`render_html` and `render_tex` render the same blocks; `write` puts report.md/html/tex/json, figures/ and tables/ on disk."""
