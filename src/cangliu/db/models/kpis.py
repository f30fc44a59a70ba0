"""placeholder"""

from cangliu.db.base import Base  # noqa: F401
