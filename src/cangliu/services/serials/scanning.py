"""Scanning validation (扫码校验): is a scanned code a serial we know, of the right SKU, at the
right site, in a usable state? GS1 content (QR, DataMatrix, GS1-128) is unpacked first; the
code is then checked against its rule's format and check character before it is looked up, so
a mistyped code is told apart from an unknown one."""

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.serials import gs1, templates
from cangliu.db.models import Barcode, Location, Serial, SerialRule, Sku
from cangliu.services.serials import rules

DEAD = frozenset({"scrapped", "retired"})


def _problem(field: str, message: str, **params: object) -> FieldError:
    return FieldError(field, message, {k: str(v) for k, v in params.items()})


def _gtin_sku(session: Session, gtin: str) -> Sku | None:
    """The SKU whose barcode is this GTIN (stored as GTIN-8/12/13/14)."""
    forms = {gtin, gtin[1:], gtin[2:], gtin[6:]} if len(gtin) == 14 else {gtin}
    return session.scalar(select(Sku).join(Barcode, Barcode.sku_id == Sku.id)
                          .where(Barcode.code.in_(forms)).limit(1))


def _unpack(session: Session, content: str, today: date
            ) -> tuple[str | None, dict[str, Any], list[FieldError]]:
    """The serial a scan carries, what else its GS1 data says, and why it cannot be read."""
    if not gs1.is_gs1(content):
        return content, {}, []
    try:
        data = gs1.parse(content, today=today)
    except ValidationFailed as failed:
        return None, {}, list(failed.errors)
    extra: dict[str, Any] = {"gtin": data.gtin, "lot": data.lot,
                             "expiry": data.expiry.isoformat() if data.expiry else None}
    if data.gtin:
        found = _gtin_sku(session, data.gtin)
        extra["gtin_sku"] = found.code if found else None
    if not data.serial:
        return None, extra, [_problem("code", "the GS1 content carries no serial (AI 21)")]
    return data.serial, extra, []


def check_scan(session: Session, code: str, *, sku: str | None = None, site: str | None = None,
               statuses: Collection[str] | None = None, today: date) -> dict[str, Any]:
    """Whether scanned ``code`` is a usable serial, with every problem found as a msgid and
    params: format and check character, existence, SKU, site, then status (``statuses``: the
    states the caller accepts; by default any but scrapped and retired)."""
    content = (code or "").strip()
    answer: dict[str, Any] = {"valid": False, "code": None, "sku": None, "status": None,
                              "site": None}
    serial_code, extra, problems = _unpack(session, content, today)
    answer.update(extra)
    wanted = rules.sku_named(session, sku) if sku else None
    place = rules.site_of(session, site)
    if extra.get("gtin") and wanted and extra.get("gtin_sku") not in (None, wanted.code):
        problems.append(_problem("sku", "GTIN {gtin} is SKU {actual}, not {sku}",
                                 gtin=extra["gtin"], actual=extra["gtin_sku"], sku=wanted.code))
    if serial_code is None or problems:
        return {**answer, "problems": problems}
    answer["code"] = serial_code
    found = _lookup(session, serial_code, wanted)
    template_of = found[0] if found else None
    problems += _format_problems(session, serial_code, template_of,
                                 found[1] if found else wanted, today)
    if problems:
        return {**answer, "problems": problems}
    if found is None:
        return {**answer, "problems": [_problem("code", "unknown serial {code}", code=serial_code)]}
    return _judge(session, answer, found, wanted, place, statuses)


def _lookup(session: Session, code: str, wanted: Sku | None
            ) -> tuple[Serial, Sku] | None:
    """The serial with this code (of ``wanted`` first when codes repeat across SKUs)."""
    rows = session.execute(select(Serial, Sku).join(Sku, Sku.id == Serial.sku_id)
                           .where(Serial.code == code).limit(50)).all()
    if not rows:
        return None
    mine = [r for r in rows if wanted is not None and r[1].id == wanted.id]
    serial, owner = (mine or rows)[0]
    return serial, owner


def _format_problems(session: Session, code: str, serial: Serial | None, sku: Sku | None,
                     today: date) -> list[FieldError]:
    """The code against the rule it was made by (a known serial) or the SKU's rule."""
    rule = session.get(SerialRule, serial.rule_id) if serial and serial.rule_id else None
    if rule is None and sku is not None:
        rule = rules.rule_for(session, sku, "serial")
    if rule is None:
        return _any_rule_problems(session, code, today)
    template = _parsed(rule.template)
    if template is None:
        return []
    context = templates.Context(cat=rules.category_code(session, sku) if sku else "",
                                sku=sku.code if sku else "", day=today)
    return templates.scan_problems(template, code, context)


def _parsed(text: str) -> templates.Template | None:
    try:
        return templates.parse_template(text)
    except ValidationFailed:
        return None  # a rule saved before its template checks existed: nothing to hold it to


def _any_rule_problems(session: Session, code: str, today: date) -> list[FieldError]:
    """Without a SKU: the check-character problem of the first active rule whose format the
    code follows, unless some rule accepts it outright."""
    found: list[FieldError] = []
    texts = session.scalars(select(SerialRule.template).where(SerialRule.active.is_(True),
                                                              SerialRule.kind == "serial"))
    for text in texts:
        template = _parsed(text)
        if template is None or not templates.pattern(template).fullmatch(code):
            continue
        problems = templates.scan_problems(template, code, templates.Context(day=today))
        if not problems:
            return []
        found = found or problems
    return found


def _judge(session: Session, answer: dict[str, Any], found: tuple[Serial, Sku],
           wanted: Sku | None, place: Location | None,
           statuses: Collection[str] | None) -> dict[str, Any]:
    serial, owner = found
    at = session.get(Location, serial.site_id) if serial.site_id else None
    answer.update(sku=owner.code, status=serial.status, site=at.code if at else None)
    problems: list[FieldError] = []
    if wanted is not None and owner.id != wanted.id:
        problems.append(_problem("sku", "serial {code} belongs to SKU {actual}, not {sku}",
                                 code=serial.code, actual=owner.code, sku=wanted.code))
    if place is not None and serial.site_id != place.id:
        problems.append(_problem("site", "serial {code} is at {actual}, not at {site}",
                                 code=serial.code, actual=at.code if at else "-", site=place.code))
    usable = serial.status in statuses if statuses is not None else serial.status not in DEAD
    if not usable:
        problems.append(_problem("status", "serial {code} is {status}", code=serial.code,
                                 status=serial.status))
    return {**answer, "valid": not problems, "problems": problems}
