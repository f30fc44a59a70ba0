"""Shared input pieces for the JSON API: strict bodies, codes, decimal strings."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field


def _number_to_text(value: Any) -> Any:
    """Accept 12.5 as well as "12.5"; the service checks it is a positive decimal for the SKU."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


# Ids and versions fit a signed 64-bit integer: anything larger is refused (422), not left to
# overflow in the database driver.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
Quantity = Annotated[str, BeforeValidator(_number_to_text),
                     Field(max_length=40, description="a positive decimal string, e.g. \"12.5\"")]
Reason = Annotated[str, Field(max_length=200)]


class Strict(BaseModel):
    """Every input model refuses unknown fields."""

    model_config = ConfigDict(extra="forbid")


class PostingIn(Strict):
    reason: Reason = ""
    occurred_at: AwareDatetime | None = None


def jsonable(value: Any) -> Any:
    """Decimals as strings, times as ISO 8601 — the API's one style."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
