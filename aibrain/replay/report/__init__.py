"""The analyst's replay report: one HTML file (thumbnails embedded), incidents.csv, incidents.json,
the evidence snapshots and, optionally, a short clip around each confirmation.

context.py — what the report says besides its incidents: camera, site names, settings.
rows.py — incident records as the report shows them.
summary.py — the report's tables and timeline, computed from its rows.
html.py — the page: a Jinja2 template filled with rows, tables and timeline; the templates' environment.
images.py — evidence thumbnails embedded as data URIs.
clips.py — a short H.264 clip around each confirmation.
data_files.py — incidents.csv (UTF-8 with BOM) and incidents.json.
report_files.py — write the report folder.
templates/ — the report page's Jinja2 template, its style (shared with `aibrain eval incidents`' page) and
that evaluation page.
"""

from aibrain.replay.report.context import ReportContext, report_context
from aibrain.replay.report.report_files import write_report

__all__ = ["ReportContext", "report_context", "write_report"]
