"""The analyst's replay report: one HTML file (thumbnails embedded), incidents.csv, incidents.json,
the evidence snapshots and, optionally, a short clip around each confirmation."""

from aibrain.report.context import ReportContext, report_context
from aibrain.report.write import write_report

__all__ = ["ReportContext", "report_context", "write_report"]
