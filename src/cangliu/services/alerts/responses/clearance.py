"""Clearance tagging: a lot about to expire (or expired) is tagged once, with when and by which
rule, so sales and stores can mark it down before it has to be scrapped."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.alerts import Finding
from cangliu.db.models import Alert, AlertRule, Location, Lot

KINDS = ("near_expiry", "expired")


def _lot_code(finding: Finding) -> str:
    values: Mapping[str, Any] = finding.values
    return str(values.get("lot") or finding.params.get("lot") or "")


def tag(session: Session, rule: AlertRule, alert: Alert, finding: Finding, now: datetime) -> str:
    """Tag the alert's lot for clearance unless it already is; answers the note to record."""
    code = _lot_code(finding)
    if rule.kind not in KINDS or alert.sku_id is None or not code:
        return ""
    lot = session.scalar(select(Lot).where(Lot.sku_id == alert.sku_id, Lot.code == code))
    if lot is None or lot.clearance_at is not None:
        return ""
    days = finding.values.get("days_left", finding.params.get("days_left"))
    site = session.get(Location, alert.site_id) if alert.site_id is not None else None
    parts = [rule.code, f"{days} days left" if days is not None else "",
             f"at {site.code}" if site else ""]
    lot.clearance_at = now
    lot.clearance_note = ", ".join(p for p in parts if p)[:200]
    session.flush()
    return f"Clearance: lot {lot.code} tagged ({lot.clearance_note})"
