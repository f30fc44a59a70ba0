"""Planning settings through the API (/api/v1/planning/settings): service level per ABC class
(in per cent), review period and default lead times, with the version to base an edit on."""

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.core.planning import z_for
from cangliu.services import planning_settings
from cangliu.services.planning_settings import Stored
from cangliu.web.api.schemas import Strict, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1/planning", tags=["planning"])
Viewer = Annotated[Actor, permit("planning.view")]
Editor = Annotated[Actor, permit("settings.edit")]
Number = Annotated[Annotated[str, Field(max_length=30)] | int | float,
                   Field(union_mode="left_to_right")]


class SettingsIn(Strict):
    """Fields left out keep their value; ``version`` is the one the edit is based on (0 while
    the defaults apply)."""

    version: Annotated[int, Field(ge=0)]
    service_level_a: Number | None = None
    service_level_b: Number | None = None
    service_level_c: Number | None = None
    review_days: Number | None = None
    purchase_lead_days: Number | None = None
    purchase_lead_sd: Number | None = None
    transfer_lead_days: Number | None = None
    transfer_lead_sd: Number | None = None


def settings_out(stored: Stored) -> dict[str, Any]:
    """The settings as the API and the page show them: values, the z of each service level."""
    levels = stored.settings.service_levels
    return {**planning_settings.as_fields(stored.settings),
            "z": {c.upper(): round(z_for(getattr(levels, c)), 3) for c in ("a", "b", "c")},
            "version": stored.version, "saved_by": stored.saved_by or None,
            "saved_at": stored.saved_at}


@router.get("/settings")
def get_settings(db: DbDep, actor: Viewer) -> Any:
    """The planning settings in force (the defaults until someone saves them)."""
    with db.read() as session:
        return jsonable(settings_out(planning_settings.state(session)))


@router.put("/settings")
def put_settings(body: SettingsIn, db: DbDep, actor: Editor) -> Any:
    """Change the settings; a stale ``version`` answers 409 and changes nothing."""
    values = {k: str(v) for k, v in body.model_dump(exclude={"version"}).items() if v is not None}
    planning_settings.save(db.uow(), actor, values, version=body.version)
    with db.read() as session:
        return jsonable(settings_out(planning_settings.state(session)))
