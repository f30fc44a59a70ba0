"""Who is acting: the user behind every write, recorded on moves and audit (roles come later)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    is_admin: bool = False
    device: str = ""
