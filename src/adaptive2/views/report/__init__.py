"""The protocol appendix (``adaptive2.report``).

Assembled from exact and simulated results (:mod:`~adaptive2.views.report.appendix`),
rendered to HTML, Markdown, CSV/JSON and PDF (:mod:`~adaptive2.views.report.output`).
"""
