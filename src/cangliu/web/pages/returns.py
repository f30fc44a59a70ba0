"""退货单 / A customer return request (RT…): what comes back, from which order, and its approval."""

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.services import sales, timeline
from cangliu.web.deps import DbDep, page_permit, sites_in_scope
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanViewSales = Annotated[Actor, page_permit("sales.view")]


@router.get("/docs/returns/{return_number}", response_class=HTMLResponse)
def detail(return_number: str, request: Request, db: DbDep, actor: CanViewSales) -> HTMLResponse:
    with db.read() as session:
        sites = timeline.document_sites(session, "sales_return", return_number)
    missing = NotFound("No return {number}", number=return_number)
    if sites is None:
        raise missing
    sites_in_scope(request, actor, "sales.view", sites, missing)
    return render(request, "return.html", actor, r=sales.get_return(db.uow(), return_number))
