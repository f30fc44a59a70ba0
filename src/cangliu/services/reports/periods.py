"""Report periods: a day, a week from Monday to Sunday, a calendar month; and which periods are
due on a given day (the last one ended, and a few before it so a server that was down catches up)."""

from datetime import date, timedelta

from cangliu.core.errors import ValidationFailed
from cangliu.db.models.reports import REPORT_KINDS

# How many ended periods of each kind a scheduled run looks back over.
CATCH_UP = {"daily": 7, "weekly": 4, "monthly": 3}


def check_kind(kind: str) -> str:
    if kind not in REPORT_KINDS:
        raise ValidationFailed.single("kind", "must be one of: {expected}",
                                      expected=", ".join(REPORT_KINDS))
    return kind


def start_of(kind: str, day: date) -> date:
    """The first day of the period of ``kind`` containing ``day``."""
    if kind == "weekly":
        return day - timedelta(days=day.weekday())
    if kind == "monthly":
        return day.replace(day=1)
    return day


def end_of(kind: str, start: date) -> date:
    if kind == "weekly":
        return start + timedelta(days=6)
    if kind == "monthly":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start


def check_start(kind: str, start: date, today: date) -> None:
    """A period is named by its first day, and must have begun."""
    if start_of(kind, start) != start:
        raise ValidationFailed.single("period_start", "must be the first day of its period: a "
                                      "Monday for a weekly report, the 1st for a monthly one")
    if start > today:
        raise ValidationFailed.single("period_start", "must not be in the future")


def ended(kind: str, today: date) -> list[date]:
    """The starts of the last ``CATCH_UP[kind]`` periods ended before ``today``, oldest first."""
    starts, current = [], start_of(kind, today)
    for _ in range(CATCH_UP[kind]):
        current = start_of(kind, current - timedelta(days=1))
        starts.append(current)
    return starts[::-1]
