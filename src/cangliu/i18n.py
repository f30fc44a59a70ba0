"""Translations with Babel: English msgids, Simplified Chinese (the default) from the .po catalogue."""

from functools import lru_cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
CATALOGUES = Path(__file__).parent / "web" / "locales"


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue for a locale (compiled in memory from the .po: no build step)."""
    po = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


# Parameters that are themselves vocabulary (a state, an action, a kind of record) get translated.
WORD_PARAMS = {"label", "state", "action", "kind", "target", "status"}


def translate(locale: str, message: str, **params: object) -> str:
    catalogue = translations(locale)
    text = catalogue.gettext(message)
    if not params:
        return text
    words = {k: catalogue.gettext(str(v)) if k in WORD_PARAMS else v for k, v in params.items()}
    return text.format(**words)


def negotiate(accept_language: str | None, cookie: str | None = None, default: str = DEFAULT
              ) -> str:
    """Pick zh_CN or en from a cookie, else the Accept-Language header, else ``default`` (the
    ``CANGLIU_DEFAULT_LOCALE`` setting; Chinese unless set)."""
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh_CN"
    return default


def add_vocabulary(template: str) -> None:
    """Add every msgid the catalogues already hold to a freshly extracted template (``make i18n``).

    States, operations, field names and the messages of Pydantic errors are msgids the code
    builds at run time, so the extractor cannot see them; without this, ``pybabel update`` would
    retire their translations. Nothing is retired automatically: delete a stale entry by hand.
    """
    from babel.messages.pofile import write_po

    with open(template, "rb") as f:
        pot = read_po(f)
    for locale in LOCALES:
        with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
            for message in read_po(f):
                if message.id and message.id not in pot:
                    pot.add(message.id)
    with open(template, "wb") as f:
        write_po(f, pot)
