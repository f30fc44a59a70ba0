"""Lot codes on receipt (收货自动生成批次号): a lot-tracked SKU received without a lot gets one from
its lot rule — the SKU's own or its category's — rendered like a generated batch, the rule's
counter advanced in the receipt's own transaction. Without such a rule the lot stays required."""

from datetime import date

from sqlalchemy import update
from sqlalchemy.orm import Session

from cangliu.core.serials import templates
from cangliu.db.models import Location, Lot, SerialRule, Sku
from cangliu.db.uow import UnitOfWork
from cangliu.services.serials import rules
from cangliu.services.serials.generation import advance, insert_lots


def rule_of(session: Session, sku: Sku) -> SerialRule | None:
    """The active lot rule written for ``sku`` or its category; a default rule does not count,
    so receipts of SKUs nobody wrote a rule for keep asking for their lot."""
    row = rules.rule_for(session, sku, "lot")
    own = row.sku_id is not None and row.sku_id == sku.id
    of_category = row.category_id is not None and row.category_id == sku.category_id
    return row if row.id is not None and (own or of_category) else None


def generate(uow: UnitOfWork, sku: Sku, *, site: Location, day: date,
             expiry: date | None = None) -> str | None:
    """A new lot of ``sku`` received at ``site`` on ``day`` (produced that day, expiring after
    the SKU's shelf life unless ``expiry`` is given); None when no lot rule applies."""
    rule = rule_of(uow.session, sku) if sku.tracking == "lot" else None
    if rule is None:
        return None
    template = templates.parse_template(rule.template)
    context = templates.Context(cat=rules.category_code(uow.session, sku), sku=sku.code,
                                site=site.code, line=rule.line, day=day)
    seq = advance(uow, rule.id, templates.seq_period(template, day), 1) if template.has_seq else 1
    code = templates.render_batch(template, context, seq, 1)[0]
    insert_lots(uow, sku, [code], day)
    if expiry is not None:
        uow.session.execute(update(Lot).where(Lot.sku_id == sku.id, Lot.code == code)
                            .values(expiry_date=expiry))
    return code
