"""Scheduled inventory reports (daily, weekly, monthly) as XLSX and PDF, kept and sent to their
subscribers: figures (``data``), files (``files``), periods, generation and sending
(``schedule``), reading (``archive``) and subscriptions."""

from cangliu.services.reports.archive import get_report, header, list_reports, report_file
from cangliu.services.reports.data import ReportData, build
from cangliu.services.reports.files import to_pdf, to_xlsx
from cangliu.services.reports.schedule import generate, generate_due, send_due
from cangliu.services.reports.subscriptions import list_subscriptions, subscribe, unsubscribe

__all__ = ["ReportData", "build", "generate", "generate_due", "get_report", "header", "list_reports",
           "list_subscriptions", "report_file", "send_due", "subscribe", "to_pdf", "to_xlsx",
           "unsubscribe"]
