"""Administration over the API: roles (permissions, field rules), users and their role assignments."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.services import auth, roles, users
from cangliu.web.api.schemas import MAX_ID, Code, Strict, jsonable
from cangliu.web.deps import DbDep, client_of, permit

router = APIRouter(prefix="/api/v1", tags=["users"])
Viewer = Annotated[Actor, permit("user.view")]
Creator = Annotated[Actor, permit("user.create")]
Editor = Annotated[Actor, permit("user.edit")]

Name = Annotated[str, Field(min_length=1, max_length=100)]
EnglishName = Annotated[str, Field(max_length=100)]
# Checked against the known permissions and field groups by the service, which names the field.
Names = Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=200)]
Username = Annotated[str, Field(min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9._@\-]*$")]


class RoleIn(Strict):
    code: Code
    name: Name
    name_en: EnglishName = ""
    permissions: Names = []
    hidden_fields: Names = []
    readonly_fields: Names = []


class RoleUpdate(Strict):
    """Only the fields given change; ``version`` is the one the edit is based on."""

    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    name: Name | None = None
    name_en: EnglishName | None = None
    permissions: Names | None = None
    hidden_fields: Names | None = None
    readonly_fields: Names | None = None


class UserIn(Strict):
    username: Username
    password: Annotated[str, Field(min_length=1, max_length=200)]
    display_name: Annotated[str, Field(max_length=100)] = ""


class UserUpdate(Strict):
    display_name: Name | None = None
    active: bool | None = None


class PasswordReset(Strict):
    new_password: Annotated[str, Field(min_length=1, max_length=200)]


class AssignmentIn(Strict):
    role: Code
    scope: Literal["all", "region", "sites"] = "all"
    region: Annotated[str, Field(max_length=40)] = ""
    sites: Annotated[list[Code], Field(max_length=500)] = []


class AssignmentsIn(Strict):
    assignments: Annotated[list[AssignmentIn], Field(max_length=100)]


@router.get("/roles")
def list_roles(db: DbDep, actor: Viewer) -> dict[str, Any]:
    return {"items": roles.list_roles(db.uow())}


@router.post("/roles", status_code=201)
def create_role(body: RoleIn, db: DbDep, actor: Editor) -> JSONResponse:
    fields = body.model_dump()
    role = users.save_role(db.uow(), actor, fields.pop("code"), **fields)
    return JSONResponse(role, status_code=201)


@router.get("/roles/{code}")
def get_role(code: str, db: DbDep, actor: Viewer) -> dict[str, Any]:
    return roles.get_role(db.uow(), code)


@router.delete("/roles/{code}", status_code=204,
               responses={409: {"description": "Built in, held by users or named by a policy"}})
def delete_role(code: str, db: DbDep, actor: Editor) -> Response:
    """Delete a custom role that no user holds and no approval policy names."""
    users.delete_role(db.uow(), actor, code)
    return Response(status_code=204)


@router.patch("/roles/{code}", responses={409: {"description": "The role changed since `version`"}})
def update_role(code: str, body: RoleUpdate, db: DbDep, actor: Editor) -> dict[str, Any]:
    """A built-in role's permissions are fixed: give only its names and field rules."""
    given = body.model_dump(exclude_unset=True)
    current = roles.get_role(db.uow(), code)
    fields = {k: given.get(k, current[k])
              for k in ("name", "name_en", "hidden_fields", "readonly_fields")}
    return users.save_role(db.uow(), actor, code, version=body.version,
                           permissions=given.get("permissions"), **fields)


@router.get("/users")
def list_users(db: DbDep, actor: Viewer, q: str | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               cursor: str | None = None) -> Any:
    with db.read() as session:
        items, nxt = users.list_users(session, q=q, after=cursor, limit=limit)
    return jsonable({"items": items, "next_cursor": nxt})


@router.post("/users", status_code=201)
def create_user(body: UserIn, db: DbDep, actor: Creator) -> JSONResponse:
    """A new user without roles (assign them next); the password needs 12 characters at least."""
    auth.create_user(db.uow(), username=body.username, password=body.password,
                     display_name=body.display_name)
    return JSONResponse(jsonable(users.get_user(db.uow(), body.username)), status_code=201)


@router.get("/users/{username}")
def get_user(username: str, db: DbDep, actor: Viewer) -> Any:
    return jsonable(users.get_user(db.uow(), username))


@router.patch("/users/{username}")
def update_user(username: str, body: UserUpdate, db: DbDep, actor: Editor) -> Any:
    """Rename, deactivate (``"active": false``: logins end at once) or reactivate a user."""
    return jsonable(users.update_user(db.uow(), actor, username, **body.model_dump(
        exclude_unset=True)))


@router.put("/users/{username}/password", status_code=204)
def reset_password(username: str, body: PasswordReset, request: Request, db: DbDep,
                   actor: Editor) -> Response:
    """Set another user's password (12 characters at least); all their sessions and API
    tokens end. Only an administrator may reset an administrator's password."""
    users.reset_password(db.uow(), actor, username, new_password=body.new_password,
                         client=client_of(request))
    return Response(status_code=204)


@router.delete("/users/{username}/two-step", status_code=204)
def turn_off_two_step(username: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Turn another user's two-step login off (they lost the phone with the app): their
    password alone logs them in until they set it up again. 409 when it is not on."""
    users.turn_off_two_step(db.uow(), actor, username, client=client_of(request))
    return Response(status_code=204)


@router.put("/users/{username}/assignments")
def set_assignments(username: str, body: AssignmentsIn, db: DbDep, actor: Editor
                    ) -> dict[str, Any]:
    """Replace the user's role assignments: each a role within all sites, a region or sites."""
    items = [a.model_dump() for a in body.assignments]
    return {"assignments": users.assign(db.uow(), actor, username, items)}
