"""Administration pages: roles as a checkbox matrix with field rules, users and their assignments."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from cangliu.core.errors import Conflict, DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import ACTIONS, FIELD_GROUPS, RESOURCES, Actor
from cangliu.services import auth, masterdata, roles, users
from cangliu.web.api.users import AssignmentsIn, RoleIn, RoleUpdate, UserIn, UserUpdate
from cangliu.web.deps import DbDep, check_csrf, client_of, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.masterdata import _errors as field_errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanView = Annotated[Actor, page_permit("user.view")]
CanCreate = Annotated[Actor, page_permit("user.create")]
CanEdit = Annotated[Actor, page_permit("user.edit")]

# Row labels of the permission matrix (msgids).
RESOURCE_LABELS = {
    "purchase": "Purchase orders", "sales": "Sales orders", "transfer": "Transfer orders",
    "count": "Stock counts", "scrap": "Scrap", "stock": "Stock", "planning": "Planning",
    "serial": "Serials", "sku": "SKUs", "site": "Sites",
    "supplier": "Suppliers", "customer": "Customers", "finance": "Finance", "report": "Reports",
    "settings": "Settings", "user": "Users", "audit": "Audit log", "alert": "Alerts",
}
ACTION_LABELS = {"view": "View", "create": "Create", "edit": "Edit", "post": "Post",
                 "approve": "Approve", "cancel": "Cancel", "export": "Export"}
GROUP_LABELS = {"cost": "Cost", "valuation": "Valuation", "margin": "Margin", "price": "Price"}
ROW = re.compile(r"a-(\d{1,3})-role")


def _labelled(locale: str, role: dict[str, Any]) -> dict[str, Any]:
    """The role with ``label``: its Chinese name, or in English its English name when it has one."""
    english = locale != "zh_CN" and role.get("name_en")
    return {**role, "label": role["name_en"] if english else role["name"]}


# --- roles ---------------------------------------------------------------------------------------

@router.get("/admin/roles", response_class=HTMLResponse)
def roles_page(request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    locale = locale_of(request)
    items = [_labelled(locale, r) for r in roles.list_roles(db.uow())]
    return render(request, "admin_roles.html", actor, roles=items, groups=GROUP_LABELS)


def _role_form(request: Request, actor: Actor, role: dict[str, Any] | None,
               values: dict[str, Any], errors: list[FieldError], status_code: int = 200
               ) -> HTMLResponse:
    return render(request, "admin_role.html", actor, status_code=status_code,
                  role=_labelled(locale_of(request), role) if role else None, values=values,
                  errors=errors, resources=RESOURCES, resource_labels=RESOURCE_LABELS,
                  actions=ACTIONS, action_labels=ACTION_LABELS, groups=GROUP_LABELS)


def _role_values(form: FormData) -> dict[str, Any]:
    rules = {g: str(form.get(f"rule-{g}") or "") for g in FIELD_GROUPS}
    return {"code": str(form.get("code") or "").strip(),
            "name": str(form.get("name") or "").strip(),
            "name_en": str(form.get("name_en") or "").strip(),
            "permissions": sorted({str(p) for p in form.getlist("permission")}),
            "hidden_fields": [g for g, rule in rules.items() if rule == "hidden"],
            "readonly_fields": [g for g, rule in rules.items() if rule == "readonly"]}


@router.get("/admin/roles/new", response_class=HTMLResponse)
def new_role_page(request: Request, actor: CanEdit) -> HTMLResponse:
    return _role_form(request, actor, None, {"permissions": [], "hidden_fields": [],
                                             "readonly_fields": []}, [])


@router.post("/admin/roles/new", response_model=None)
async def create_role(request: Request, db: DbDep, actor: CanEdit
                      ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = _role_values(form)
    try:
        body = RoleIn.model_validate(values).model_dump()
        users.save_role(db.uow(), actor, body.pop("code"), **body)
    except (ValidationError, DomainError) as exc:
        return _role_form(request, actor, None, values, field_errors(locale_of(request), exc),
                          409 if isinstance(exc, Conflict) else 422)
    return RedirectResponse(f"/admin/roles/{values['code']}?saved=1", status_code=303)


@router.get("/admin/roles/{code}", response_class=HTMLResponse)
def role_page(code: str, request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    role = roles.get_role(db.uow(), code)
    return _role_form(request, actor, role, role, [])


@router.post("/admin/roles/{code}", response_model=None)
async def update_role(code: str, request: Request, db: DbDep, actor: CanEdit
                      ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    role = roles.get_role(db.uow(), code)
    values = {**_role_values(form), "code": code}
    version = str(form.get("version") or "")
    try:
        body = RoleUpdate.model_validate({
            **{k: v for k, v in values.items() if k != "code"},
            "version": int(version) if version.isdigit() else 0}).model_dump()
        if role["built_in"]:  # fixed: the disabled checkboxes post nothing
            body.pop("permissions")
        users.save_role(db.uow(), actor, code, **body)
    except (ValidationError, DomainError) as exc:
        # After a stale edit the form keeps what the user chose, now based on the newer version:
        # saving again overwrites it knowingly.
        role = roles.get_role(db.uow(), code)
        if role["built_in"]:
            values["permissions"] = role["permissions"]
        return _role_form(request, actor, role, values, field_errors(locale_of(request), exc),
                          409 if isinstance(exc, Conflict) else 422)
    return RedirectResponse(f"/admin/roles/{code}?saved=1", status_code=303)


@router.post("/admin/roles/{code}/delete", response_model=None)
async def delete_role(code: str, request: Request, db: DbDep, actor: CanEdit
                      ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    try:
        users.delete_role(db.uow(), actor, code)
    except DomainError as exc:
        role = roles.get_role(db.uow(), code)
        return _role_form(request, actor, role, role, field_errors(locale_of(request), exc),
                          exc.status)
    return RedirectResponse("/admin/roles?deleted=1", status_code=303)


# --- users ---------------------------------------------------------------------------------------

def _users_list(request: Request, db: DbDep, actor: Actor, *, q: str | None,
                cursor: str | None, values: dict[str, Any] | None = None,
                errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        items, nxt = users.list_users(session, q=q, after=cursor, limit=50)
    locale = locale_of(request)
    names = {r["code"]: _labelled(locale, r)["label"] for r in roles.list_roles(db.uow())}
    return render(request, "admin_users.html", actor, status_code=status_code, items=items,
                  q=q or "", next_cursor=nxt, role_names=names, values=values or {},
                  errors=errors or [])


USER_COLUMNS = (("username", "Username"), ("display_name", "Display name"), ("roles", "Roles"),
                ("status", "Status"))


def _users_export(request: Request, db: DbDep, actor: Actor, fmt: str, q: str | None
                  ) -> Response:
    """Every user the search matches, roles by name and status as the list shows them."""
    locale = locale_of(request)
    names = {r["code"]: _labelled(locale, r)["label"] for r in roles.list_roles(db.uow())}
    with db.read() as session:
        def fetch(after: str | None) -> Any:
            items, nxt = users.list_users(session, q=q, after=after, limit=1000)
            return [{**u, "status": "Active" if u["active"] else "Deactivated",
                     "roles": [names.get(c, c) for c in
                               (["admin"] if u["is_admin"] and "admin" not in u["roles"] else [])
                               + list(u["roles"])]} for u in items], nxt
        return answer(request, actor, "user", fetch, USER_COLUMNS, fmt=fmt, filename="users")


@router.get("/admin/users", response_class=HTMLResponse, response_model=None)
def users_page(request: Request, db: DbDep, actor: CanView, q: str | None = None,
               cursor: str | None = None) -> Response:
    fmt = wants_export(request)
    if fmt:
        return _users_export(request, db, actor, fmt, q)
    return _users_list(request, db, actor, q=q, cursor=cursor)


@router.post("/admin/users/new", response_model=None)
async def create_user(request: Request, db: DbDep, actor: CanCreate
                      ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "").strip() for k in ("username", "display_name")}
    try:
        body = UserIn.model_validate({**values, "password": str(form.get("password") or "")})
        auth.create_user(db.uow(), username=body.username, password=body.password,
                         display_name=body.display_name)
    except (ValidationError, DomainError) as exc:
        return _users_list(request, db, actor, q=None, cursor=None, values=values,
                           errors=field_errors(locale_of(request), exc),
                           status_code=409 if isinstance(exc, Conflict) else 422)
    return RedirectResponse(f"/admin/users/{values['username']}?saved=1", status_code=303)


def _user_form(request: Request, db: DbDep, actor: Actor, username: str, *,
               assignments: list[dict[str, Any]] | None = None,
               errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    user = users.get_user(db.uow(), username)
    locale = locale_of(request)
    with db.read() as session:
        sites, _next = masterdata.list_records(session, "site", limit=1000)
    return render(request, "admin_user.html", actor, status_code=status_code, user=user,
                  assignments=user["assignments"] if assignments is None else assignments,
                  roles=[_labelled(locale, r) for r in roles.list_roles(db.uow())], sites=sites,
                  regions=sorted({s["region"] for s in sites if s.get("region")}),
                  errors=errors or [])


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(username: str, request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    return _user_form(request, db, actor, username)


async def _posted(request: Request, actor: Actor) -> FormData:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return form


@router.post("/admin/users/{username}", response_model=None)
async def update_user(username: str, request: Request, db: DbDep, actor: CanEdit
                      ) -> HTMLResponse | RedirectResponse:
    form = await _posted(request, actor)
    changes: dict[str, Any] = {"display_name": str(form.get("display_name") or "").strip()}
    if "active" in form:  # the deactivate / reactivate buttons
        changes = {"active": form.get("active") == "1"}
    try:
        body = UserUpdate.model_validate(changes)
        users.update_user(db.uow(), actor, username, **body.model_dump(exclude_unset=True))
    except (ValidationError, DomainError) as exc:
        status = exc.status if isinstance(exc, DomainError) else 422
        return _user_form(request, db, actor, username,
                          errors=field_errors(locale_of(request), exc), status_code=status)
    return RedirectResponse(f"/admin/users/{username}?saved=1", status_code=303)


@router.post("/admin/users/{username}/password", response_model=None)
async def reset_password(username: str, request: Request, db: DbDep, actor: CanEdit
                         ) -> HTMLResponse | RedirectResponse:
    form = await _posted(request, actor)
    new, again = str(form.get("new_password") or ""), str(form.get("new_password_again") or "")
    try:
        if new != again:
            raise ValidationFailed.single("new_password_again", "does not match the new password")
        users.reset_password(db.uow(), actor, username, new_password=new,
                             client=client_of(request))
    except DomainError as exc:
        return _user_form(request, db, actor, username, status_code=exc.status,
                          errors=field_errors(locale_of(request), exc))
    return RedirectResponse(f"/admin/users/{username}?password_reset=1", status_code=303)


@router.post("/admin/users/{username}/two-step/off", response_model=None)
async def turn_off_two_step(username: str, request: Request, db: DbDep, actor: CanEdit
                            ) -> HTMLResponse | RedirectResponse:
    """For a user who lost the phone with their authenticator app."""
    await _posted(request, actor)
    try:
        users.turn_off_two_step(db.uow(), actor, username, client=client_of(request))
    except DomainError as exc:
        return _user_form(request, db, actor, username, status_code=exc.status,
                          errors=field_errors(locale_of(request), exc))
    return RedirectResponse(f"/admin/users/{username}?two_step_off=1", status_code=303)


def _assignment_values(form: FormData) -> list[dict[str, Any]]:
    """The rows of the assignment table, in order; a row without a role is an empty new row."""
    rows = sorted(int(m.group(1)) for key in form if (m := ROW.fullmatch(key)))
    return [{"role": str(form.get(f"a-{i}-role")), "scope": str(form.get(f"a-{i}-scope") or "all"),
             "region": str(form.get(f"a-{i}-region") or ""),
             "sites": [str(s) for s in form.getlist(f"a-{i}-sites")]}
            for i in rows if form.get(f"a-{i}-role")]


@router.post("/admin/users/{username}/assignments", response_model=None)
async def set_assignments(username: str, request: Request, db: DbDep, actor: CanEdit
                          ) -> HTMLResponse | RedirectResponse:
    form = await _posted(request, actor)
    items = _assignment_values(form)
    try:
        body = AssignmentsIn.model_validate({"assignments": items})
        users.assign(db.uow(), actor, username, [a.model_dump() for a in body.assignments])
    except (ValidationError, DomainError) as exc:
        status = exc.status if isinstance(exc, DomainError) else 422
        return _user_form(request, db, actor, username, assignments=items,
                          errors=field_errors(locale_of(request), exc), status_code=status)
    return RedirectResponse(f"/admin/users/{username}?saved=1", status_code=303)
