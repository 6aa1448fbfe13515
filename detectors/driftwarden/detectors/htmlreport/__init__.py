"""The HTML drift report: one self-contained page (inline SVG, no script, no network).

`overlays` turns two window profiles into the distributions a person compares (pure numpy),
`plots` draws them with matplotlib's SVG backend, `page` lays out one run and `monitor` one
monitor's history. The renderers take the run's JSON report (`Report.to_dict()`, or the
same shape rebuilt from the history), so the page shows exactly the numbers the JSON has.
"""
