"""The review queue of offline operations (离线作业复核): what scanning devices did offline that
the business rules refused on replay. A supervisor applies one again (as themselves, once the
cause is fixed) or closes it with a reason; either way the device hears of it."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db.models import AppUser
from cangliu.services import offline
from cangliu.web.api.offline import KINDS, applier, reviewable
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanReview = Annotated[Actor, page_permit("stock.create")]
BASE = "/scan/review"
PAGE = 50


@router.get(BASE, response_class=HTMLResponse)
def review_page(request: Request, db: DbDep, actor: CanReview, status: str = "failed",
                after: int | None = None) -> HTMLResponse:
    status = status if status in ("failed", "dismissed", "applied") else "failed"
    with db.read() as session:
        rows = offline.review_queue(session, sites=actor.sites("stock.create"), status=status,
                                    after=after, limit=PAGE)
        names = {i: n for i, n in session.execute(select(AppUser.id, AppUser.username).where(
            AppUser.id.in_({r.user_id for r in rows} | {r.reviewed_by or 0 for r in rows})))}
    more = f"{BASE}?status={status}&after={rows[-1].id}" if len(rows) == PAGE else None
    return render(request, "offline_review.html", actor, rows=rows, names=names, status=status,
                  next_link=more, kinds=KINDS)


@router.post(BASE + "/{op_id}/retry")
def retry(op_id: int, request: Request, db: DbDep, actor: CanReview,
          csrf_token: Annotated[str, Form()] = "") -> RedirectResponse:
    check_csrf(request, csrf_token, actor)
    done = offline.retry(db, actor, reviewable(db, actor, op_id), applier(request, actor))
    outcome = "applied" if done.status == "applied" else "refused"
    return RedirectResponse(f"{BASE}?{outcome}={op_id}", status_code=303)


@router.post(BASE + "/{op_id}/dismiss")
def dismiss(op_id: int, request: Request, db: DbDep, actor: CanReview,
            note: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
            ) -> RedirectResponse:
    check_csrf(request, csrf_token, actor)
    offline.dismiss(db.uow(), actor, reviewable(db, actor, op_id), note=note)
    return RedirectResponse(f"{BASE}?dismissed={op_id}", status_code=303)
