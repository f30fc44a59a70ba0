"""Comments on documents. ``@username`` in a comment notifies that user; a name nobody has, or a
user who may not see the document, is refused (nothing is saved) so no one is silently missed."""

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import AppUser, DocumentComment
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.notifications import notify
from cangliu.services.roles import actor_of
from cangliu.services.timeline import KINDS, document_sites, link

Result = dict[str, Any]
MAX_BODY = 4000
# "@li.wei," mentions li.wei: a name ends before trailing punctuation.
MENTION = re.compile(r"(?<![\w@])@([\w][\w.\-]*)")


def mentions(body: str) -> list[str]:
    """The usernames a comment mentions, in order of first appearance."""
    names = (m.group(1).rstrip(".-") for m in MENTION.finditer(body))
    return list(dict.fromkeys(n for n in names if n))


def _sites(session: Session, kind: str, number: str) -> list[int]:
    if kind not in KINDS:
        raise NotFound("Page not found")
    sites = document_sites(session, kind, number)
    if sites is None:
        raise NotFound("Document {number} not found", number=number)
    return sites


def _mentioned(session: Session, kind: str, sites: list[int], names: list[str]) -> list[AppUser]:
    users = {u.username: u for u in session.scalars(
        select(AppUser).where(AppUser.username.in_(names), AppUser.active.is_(True)))}
    permission = f"{KINDS[kind].resource}.view"
    for name in names:
        user = users.get(name)
        if user is None:
            raise ValidationFailed.single("body", "unknown user @{name}", name=name)
        if not actor_of(session, user).sees(permission, sites):
            raise ValidationFailed.single("body", "@{name} may not see this document", name=name)
    return [users[n] for n in names]


@retrying
def add_comment(uow: UnitOfWork, actor: Actor, *, kind: str, number: str, body: str) -> Result:
    """Save a comment and notify everyone it mentions (but the author)."""
    text = body.strip()
    if not text:
        raise ValidationFailed.single("body", "must not be empty")
    if len(text) > MAX_BODY:
        raise ValidationFailed.single("body", "is too long")
    with uow:
        session = uow.session
        sites = _sites(session, kind, number)
        users = _mentioned(session, kind, sites, mentions(text))
        row = DocumentComment(document_kind=kind, document_number=number, author_id=actor.user_id,
                              body=text, mentions=" ".join(u.username for u in users),
                              created_at=uow.now())
        session.add(row)
        session.flush()
        notify(session, row.created_at, (u.id for u in users if u.id != actor.user_id),
               kind="mention", title="{user} mentioned you on {number}",
               params={"user": actor.username, "number": number}, body=text,
               link=f"{link(kind, number)}#comment-{row.id}")
        out = _out(row, actor.username)
        uow.commit()
    return out


def list_comments(uow: UnitOfWork, kind: str, number: str, *, after: int | None = None,
                  limit: int = 100) -> tuple[list[Result], int | None]:
    """A document's comments, oldest first; the cursor is the last id shown."""
    with uow:
        session = uow.session
        _sites(session, kind, number)
        query = (select(DocumentComment, AppUser.username)
                 .join(AppUser, AppUser.id == DocumentComment.author_id)
                 .where(DocumentComment.document_kind == kind,
                        DocumentComment.document_number == number))
        if after:
            query = query.where(DocumentComment.id > after)
        rows = session.execute(query.order_by(DocumentComment.id).limit(limit + 1)).all()
        page = [_out(c, name) for c, name in rows[:limit]]
    return page, (page[-1]["id"] if len(rows) > limit else None)


def _out(row: DocumentComment, author: str) -> Result:
    return {"id": row.id, "document_kind": row.document_kind,
            "document_number": row.document_number, "author": author, "body": row.body,
            "mentions": row.mentions.split(), "created_at": row.created_at}
