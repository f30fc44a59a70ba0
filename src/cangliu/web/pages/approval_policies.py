"""Approval policy settings (审批策略): each document type's policy in force, read as a table and
edited as YAML (typed, uploaded or restored from an earlier version), and the approval times."""

from datetime import timedelta
from typing import Annotated, get_args
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from cangliu.core import approvals as rules
from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.services import approvals, roles
from cangliu.services.approvals import versions
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors as field_errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanView = Annotated[Actor, page_permit("settings.view")]
CanEdit = Annotated[Actor, page_permit("settings.edit")]
BASE = "/admin/approval-policies"
MAX_UPLOAD = 256 * 1024  # a policy is a page or two of YAML

# Labels (msgids) of the document types and of the policy vocabulary.
TYPE_LABELS = {"transfer": "Transfer orders", "purchase": "Purchase orders", "count": "Stock counts",
               "scrap": "Scrap", "sales_return": "Sales returns"}
SCOPE_LABELS = {"all": "every site", "source_region": "the source site's region",
                "dest_region": "the destination site's region", "site": "the document's site"}
ACTION_LABELS = {"remind": "Remind", "escalate": "Escalate", "auto_approve": "Approve automatically",
                 "auto_reject": "Reject automatically"}
MODE_LABELS = {"any": "Any one", "all": "All", "n_of_m": "{n} of them"}
KIND_LABELS = {"number": "a number", "text": "text", "bool": "true or false"}


@router.get(BASE, response_class=HTMLResponse)
def policies_page(request: Request, db: DbDep, actor: CanView,
                  days: Annotated[int, Query(ge=1, le=3660)] = 90) -> HTMLResponse:
    """The policies in force; the approval times of the last ``days`` for report viewers."""
    metrics = None
    if actor.can("report.view"):
        uow = db.uow()
        now = uow.now()
        metrics = approvals.approval_metrics(uow, since=now - timedelta(days=days), now=now)
    return render(request, "admin_policies.html", actor, items=versions.policies_in_force(db.uow()),
                  metrics=metrics, days=days, type_labels=TYPE_LABELS)


def _policy_page(request: Request, db: DbDep, actor: Actor, document_type: str, *,
                 version: int | None = None, text: str | None = None,
                 errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    """The policy (``version``, or the one in force) as a table, the editor holding ``text`` (the
    policy's own YAML unless the user's input is kept), the history and the help box."""
    policy, stored = versions.policy_version(db.uow(), document_type, version)
    history = versions.policy_versions(db.uow(), document_type)
    locale = locale_of(request)
    role_names = {r["code"]: r["name_en"] if locale != "zh_CN" and r["name_en"] else r["name"]
                  for r in roles.list_roles(db.uow())}
    return render(request, "admin_policy.html", actor, status_code=status_code,
                  document_type=document_type, type_label=TYPE_LABELS.get(document_type, document_type),
                  policy=policy, stored=stored, text=stored if text is None else text,
                  in_force=next(v["version"] for v in history if v["active"]),
                  history=history, errors=errors or [], role_names=role_names,
                  fields=rules.DOCUMENT_FIELDS[document_type],
                  timeout_actions=get_args(rules.TimeoutAction), scope_labels=SCOPE_LABELS,
                  help_scopes=[s for s in SCOPE_LABELS if document_type == "transfer"
                               or s not in ("source_region", "dest_region")],  # as core allows
                  kind_labels=KIND_LABELS,
                  action_labels=ACTION_LABELS, mode_labels=MODE_LABELS)


@router.get(BASE + "/{document_type}", response_class=HTMLResponse)
def policy_page(document_type: str, request: Request, db: DbDep, actor: CanView,
                version: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    return _policy_page(request, db, actor, document_type, version=version)


@router.get(BASE + "/{document_type}/download")
def download_policy(document_type: str, db: DbDep, actor: CanView,
                    version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The YAML of a version (the one in force by default) as a .yaml file."""
    policy, text = versions.policy_version(db.uow(), document_type, version)
    name = quote(f"approval-policy-{document_type}-v{policy.version}.yaml")
    return Response(text, media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _posted(request: Request, actor: Actor) -> FormData:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return form


def _save(request: Request, db: DbDep, actor: Actor, document_type: str, text: str
          ) -> HTMLResponse | RedirectResponse:
    """Save ``text`` as a new version; on any error the page again, the text kept as entered."""
    try:
        saved = approvals.save_policy(db.uow(), actor, document_type, text)
    except ValidationFailed as exc:
        return _policy_page(request, db, actor, document_type, text=text,
                            errors=field_errors(locale_of(request), exc), status_code=422)
    return RedirectResponse(f"{BASE}/{document_type}?saved={saved['version']}", status_code=303)


@router.post(BASE + "/{document_type}", response_model=None)
async def save_policy(document_type: str, request: Request, db: DbDep, actor: CanEdit
                      ) -> HTMLResponse | RedirectResponse:
    form = await _posted(request, actor)
    return _save(request, db, actor, document_type, str(form.get("yaml") or ""))


@router.post(BASE + "/{document_type}/upload", response_model=None)
async def upload_policy(document_type: str, request: Request, db: DbDep, actor: CanEdit
                        ) -> HTMLResponse | RedirectResponse:
    """A .yaml file, validated and saved like typed text; a refused file stays in the editor."""
    form = await _posted(request, actor)
    upload = form.get("file")
    data = await upload.read(MAX_UPLOAD + 1) if isinstance(upload, UploadFile) else b""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if data and text is not None and len(data) <= MAX_UPLOAD:
        return _save(request, db, actor, document_type, text)
    problem = (ValidationFailed.single("file", "Choose a YAML file") if not data else
               ValidationFailed.single("file", "is larger than {size} KB", size=MAX_UPLOAD // 1024)
               if len(data) > MAX_UPLOAD else ValidationFailed.single("file", "must be UTF-8 text"))
    return _policy_page(request, db, actor, document_type,
                        errors=field_errors(locale_of(request), problem), status_code=422)


@router.post(BASE + "/{document_type}/restore", response_model=None)
async def restore_policy(document_type: str, request: Request, db: DbDep, actor: CanEdit
                         ) -> HTMLResponse | RedirectResponse:
    """An earlier version saved again as the newest one."""
    form = await _posted(request, actor)
    version = str(form.get("version") or "")
    if not version.isdigit():
        return _policy_page(request, db, actor, document_type, status_code=422, errors=field_errors(
            locale_of(request), ValidationFailed.single("version", "must be a whole number of at least 1")))
    _policy, text = versions.policy_version(db.uow(), document_type, int(version))
    return _save(request, db, actor, document_type, text)
