"""POST /api/v1/auth/login: username and password for a bearer token."""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cangliu.config import get_settings
from cangliu.services import auth
from cangliu.web.deps import ActorDep, DbDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, db: DbDep) -> TokenOut:
    actor = auth.authenticate(db.uow(), username=body.username, password=body.password)
    hours = get_settings().token_hours
    return TokenOut(access_token=auth.issue_token(db.uow(), actor, hours=hours),
                    expires_in=hours * 3600)


@router.get("/me")
def me(actor: ActorDep) -> dict[str, object]:
    return {"username": actor.username, "is_admin": actor.is_admin}
