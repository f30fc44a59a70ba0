"""Print templates (打印模板): per document type, a Jinja2 body rendered in a sandbox to an A4
print page. Built-in bilingual defaults ship as files; a stored template marked default replaces
its type's built-in, and deleting it ("reset to default") brings the built-in back. A body is
only saved once it compiles and renders against the type's sample document."""

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Setting
from cangliu.db.models.print_templates import PrintTemplate
from cangliu.db.uow import UnitOfWork
from cangliu.i18n import translate
from cangliu.services.print_templates import kinds, sandbox
from cangliu.services.print_templates.kinds import TYPES, DocType, doc_type
from cangliu.services.print_templates.samples import sample
from cangliu.services.print_templates.variables import markdown
from cangliu.services.print_templates.variables import variables as _variables

__all__ = [
    "TYPES",
    "DocType",
    "check",
    "company_name",
    "doc_type",
    "docs_markdown",
    "get_template",
    "list_templates",
    "preview",
    "render",
    "reset_template",
    "save_template",
    "set_company_name",
    "variables_of",
]

DEFAULTS = Path(__file__).parent / "defaults"
LAYOUT = (DEFAULTS / "layout.html.j2").read_text(encoding="utf-8")
BUILTINS = {code: (DEFAULTS / f"{code}.html.j2").read_text(encoding="utf-8") for code in TYPES}
ENV = sandbox.environment(LAYOUT)
DEFAULT_NAME = "default"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,59}$")
COMPANY_SETTING = "company_name"
COMPANY = "仓流 Cangliu"
SAMPLE_TIME = datetime.fromisoformat("2026-11-23T10:00:00+00:00")


# --- the context and rendering ---------------------------------------------------------------------

def _context(kind: DocType, doc: dict[str, Any], *, reader: Actor | None, company: str,
             now: datetime, lang: str, labels: dict[str, str]) -> dict[str, Any]:
    """What a template sees; field rules apply: keys hidden from the reader are not there."""
    return {"doc": reader.redact(doc) if reader else doc, "document_type": kind.code,
            "title": {"zh": kind.title_zh, "en": kind.title_en}, "company": company,
            "state_label": {"zh": translate("zh_CN", doc["state"]), "en": translate("en", doc["state"])}
            if doc.get("state") else {"zh": "", "en": ""},
            "printed_at": now.isoformat(), "printed_by": reader.username if reader else "admin",
            "lang": lang, "custom_labels": labels}


def sample_context(document_type: str, *, reader: Actor | None = None, lang: str = "zh_CN",
                   company: str = COMPANY) -> dict[str, Any]:
    kind = doc_type(document_type)
    return _context(kind, sample(kind.code), reader=reader, company=company, now=SAMPLE_TIME,
                    lang=lang, labels={})


def variables_of(document_type: str) -> list[dict[str, str]]:
    """Every variable a template of this type may use: name, example and meaning (a msgid)."""
    return _variables(sample_context(document_type))


def docs_markdown() -> str:
    """docs/print-templates.md: every variable of every document type."""
    return markdown([(code, f"{kind.title_zh} {kind.title_en}", variables_of(code))
                     for code, kind in TYPES.items()])


def _company(session: Session) -> str:
    return session.scalar(select(Setting.value).where(Setting.key == COMPANY_SETTING)) or COMPANY


def _stored(session: Session, document_type: str, name: str | None) -> PrintTemplate | None:
    query = select(PrintTemplate).where(PrintTemplate.document_type == document_type)
    query = query.where(PrintTemplate.is_default.is_(True) if name is None
                        else PrintTemplate.name == name)
    return session.scalar(query.order_by(PrintTemplate.id).limit(1))


def _body(session: Session, kind: DocType, template: str | None) -> str:
    row = _stored(session, kind.code, template)
    if row is not None:
        return row.body
    if template is None or template == DEFAULT_NAME:
        return BUILTINS[kind.code]
    raise ValidationFailed.single("template", "no print template {name}", name=template)


def render(uow: UnitOfWork, actor: Actor, document_type: str, number: str, *,
           template: str | None = None, body: str | None = None, lang: str = "zh_CN") -> str:
    """The print page of one document: with ``body`` when given (a preview), else the stored
    template named ``template`` or the type's default (stored, else built-in)."""
    kind = doc_type(document_type)
    doc = kinds.load(uow, kind, number)
    with uow:
        s = uow.session
        text = body if body is not None else _body(s, kind, template)
        context = _context(kind, doc, reader=actor, company=_company(s), now=uow.now(),
                           lang=lang, labels=kinds.custom_labels(s, kind, lang))
    return sandbox.render_body(ENV, text, context)


def check(document_type: str, body: str) -> str:
    """The body rendered against the type's sample document (``ValidationFailed`` on ``body``
    naming the line when it does not compile or render)."""
    return sandbox.render_body(ENV, body, sample_context(document_type))


def preview(uow: UnitOfWork, actor: Actor, document_type: str, body: str, *,
            number: str | None = None, lang: str = "zh_CN") -> str:
    """An unsaved body against a real document (``number``) or the sample."""
    if number:
        return render(uow, actor, document_type, number, body=body, lang=lang)
    with uow:
        company = _company(uow.session)
    return sandbox.render_body(ENV, body, sample_context(document_type, reader=actor, lang=lang,
                                                         company=company))


# --- stored templates -------------------------------------------------------------------------------

def _out(row: PrintTemplate) -> dict[str, Any]:
    return {"document_type": row.document_type, "name": row.name, "body": row.body,
            "is_default": row.is_default, "builtin": False, "version": row.version,
            "updated_by": row.updated_by, "updated_at": row.updated_at}


def _builtin(kind: DocType) -> dict[str, Any]:
    """The built-in template: version 0, which a first save must be based on."""
    return {"document_type": kind.code, "name": DEFAULT_NAME, "body": BUILTINS[kind.code],
            "is_default": True, "builtin": True, "version": 0, "updated_by": None,
            "updated_at": None}


def list_templates(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Each document type with its titles, the template in force and every stored one."""
    with uow:
        rows = [_out(r) for r in uow.session.scalars(select(PrintTemplate).order_by(
            PrintTemplate.document_type, PrintTemplate.name))]
    out = []
    for kind in TYPES.values():
        mine = [r for r in rows if r["document_type"] == kind.code]
        active = next((t for t in mine if t["is_default"]), None) or _builtin(kind)
        out.append({"document_type": kind.code, "title_zh": kind.title_zh,
                    "title_en": kind.title_en, "active": active,
                    "templates": [{k: v for k, v in t.items() if k != "body"} for t in mine]})
    return out


def get_template(uow: UnitOfWork, document_type: str, name: str | None = None) -> dict[str, Any]:
    """A stored template by name, or (no name) the one in force: stored default or built-in."""
    kind = doc_type(document_type)
    with uow:
        row = _stored(uow.session, kind.code, name)
        if row is not None:
            return _out(row)
    if name is None or name == DEFAULT_NAME:
        return _builtin(kind)
    raise NotFound("No print template {name}", name=name)


def _stale(row: PrintTemplate | None, kind: DocType) -> StaleVersion:
    if row is None:
        return StaleVersion(0, _builtin(kind))
    return StaleVersion(row.version, _out(row), saved_by=row.updated_by, saved_at=row.updated_at)


def save_template(uow: UnitOfWork, actor: Actor, document_type: str, *, body: str, version: int,
                  name: str = DEFAULT_NAME, is_default: bool = True) -> dict[str, Any]:
    """Store a checked body under ``name``, if ``version`` is the one in force (0: none stored
    yet); 409 with the current template otherwise. As default it replaces the built-in."""
    kind = doc_type(document_type)
    if not NAME.match(name):
        raise ValidationFailed.single("name", "letters, digits, - and _ only (at most 60)")
    check(kind.code, body)
    with uow:
        s, now = uow.session, uow.now()
        row = _stored(s, kind.code, name)
        if (row.version if row else 0) != version:
            raise _stale(row, kind)
        if is_default:
            s.execute(update(PrintTemplate).where(PrintTemplate.document_type == kind.code,
                                                  PrintTemplate.name != name)
                      .values(is_default=False).execution_options(synchronize_session=False))
        values = {"body": body, "is_default": is_default, "updated_by": actor.username,
                  "updated_at": now}
        if row is None:
            row = PrintTemplate(document_type=kind.code, name=name, version=1, **values)
            s.add(row)
        else:
            # Conditional on the version read, so of two concurrent saves only one wins.
            done = s.execute(update(PrintTemplate).where(
                PrintTemplate.id == row.id, PrintTemplate.version == version)
                .values(version=version + 1, **values).execution_options(synchronize_session=False))
            if getattr(done, "rowcount", 1) != 1:
                s.refresh(row)
                raise _stale(row, kind)
        try:
            s.flush()
        except IntegrityError:
            raise _stale(None, kind) from None  # a concurrent first save won
        s.refresh(row)
        uow.commit()
        return _out(row)


def reset_template(uow: UnitOfWork, actor: Actor, document_type: str, *,
                   name: str = DEFAULT_NAME) -> dict[str, Any]:
    """Delete a stored template; for the default the built-in applies again. Answers the
    template now in force."""
    kind = doc_type(document_type)
    with uow:
        row = _stored(uow.session, kind.code, name)
        if row is None:
            raise NotFound("No print template {name}", name=name)
        uow.session.delete(row)
        uow.session.flush()
        uow.commit()
    return get_template(uow, kind.code)


def company_name(uow: UnitOfWork) -> str:
    with uow:
        return _company(uow.session)


def set_company_name(uow: UnitOfWork, actor: Actor, name: str) -> str:
    """The company name printed on every document (blank: the default)."""
    name = name.strip()
    if len(name) > 100:
        raise ValidationFailed.single("company", "at most {max} characters", max=100)
    with uow:
        row = uow.session.get(Setting, COMPANY_SETTING)
        if not name:
            if row is not None:
                uow.session.delete(row)
        elif row is None:
            uow.session.add(Setting(key=COMPANY_SETTING, value=name))
        else:
            row.value = name
        uow.commit()
    return name or COMPANY
