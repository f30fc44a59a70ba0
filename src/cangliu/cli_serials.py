"""``cangliu serials``: for support staff — is a code's check character right, which check
character does a payload take, and what does a scanned GS1 element string hold."""

from datetime import UTC, datetime

import typer
from rich.console import Console

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.serials import checkdigits, gs1
from cangliu.core.serials.checkdigits import ALGORITHMS
from cangliu.i18n import translate

console = Console()
serials_app = typer.Typer(help="Serial numbers (序列号): check characters and GS1 element strings.",
                          no_args_is_help=True)
ALGORITHM = typer.Option(..., "--algorithm", "-a", help="one of " + ", ".join(ALGORITHMS))
# Ways to type the GS separator (ASCII 29) on a command line.
GS_SPELLINGS = ("\\x1d", "<GS>", "{GS}")
VALID, INVALID, USAGE = 0, 1, 2
AI_TITLES = {"00": "SSCC / 系列货运包装箱代码", "01": "GTIN / 全球贸易项目代码", "10": "lot / 批号",
             "17": "expiry / 有效期至", "21": "serial / 序列号"}


def both(message: str, **params: object) -> str:
    """A domain message in English and, where the catalogue has it, in Chinese:
    "check digit mismatch: expected 7 / 校验位错误：应为 7"."""
    english = message.format(**{k: str(v) for k, v in params.items()})
    chinese = translate("zh_CN", message, **params)
    return english if chinese == english else f"{english} / {chinese}"


def _say(text: str, style: str = "") -> None:
    console.print(text, style=style or None, markup=False, highlight=False)


def _field_errors(errors: list[FieldError]) -> None:
    for error in errors:
        _say(f"{error.field}: {both(error.message, **error.params)}", "red")


def _known(algorithm: str) -> None:
    """Exit 2 naming the choices unless the algorithm is one we have."""
    if algorithm not in ALGORITHMS:
        _say(both(checkdigits.UNKNOWN_ALGORITHM, algorithm=algorithm, choices=", ".join(ALGORITHMS)),
             "red")
        raise typer.Exit(USAGE)


@serials_app.command("check")
def check(code: str, algorithm: str = ALGORITHM) -> None:
    """Say whether the last character of CODE is its check character (exit 0) or not (exit 1,
    naming the one expected)."""
    _known(algorithm)
    verdict = checkdigits.verify(algorithm, code.strip())
    if verdict.valid:
        _say(f"valid / 有效: {code.strip()} ({algorithm})", "green")
        raise typer.Exit(VALID)
    _say(f"invalid / 无效: {both(verdict.reason or '', **verdict.params)}", "red")
    raise typer.Exit(INVALID)


@serials_app.command("check-digit")
def check_digit(payload: str, algorithm: str = ALGORITHM) -> None:
    """Print the check character to append to PAYLOAD, and the complete code."""
    _known(algorithm)
    try:
        character = checkdigits.check_character(algorithm, payload.strip())
    except ValidationFailed as failed:
        _field_errors(failed.errors)
        raise typer.Exit(USAGE) from None
    _say(f"check character / 校验位: {character}")
    _say(f"code / 完整编码: {payload.strip()}{character}")


@serials_app.command("parse")
def parse(content: str = typer.Argument(..., help="scanned content; type the GS separator as "
                                        + ", ".join(GS_SPELLINGS))) -> None:
    """Print the elements of a GS1 element string (human-readable or raw, with or without ]d2,
    ]Q3, ]C1); exit 1 naming the element that is wrong."""
    for spelling in GS_SPELLINGS:
        content = content.replace(spelling, gs1.GS)
    try:
        data = gs1.parse(content, today=datetime.now(UTC).date())
    except ValidationFailed as failed:
        _field_errors(failed.errors)
        raise typer.Exit(INVALID) from None
    for ai, value in data.elements:
        shown = f"{value} ({data.expiry.isoformat()})" if ai == "17" and data.expiry else value
        _say(f"({ai}) {AI_TITLES[ai]}: {shown}")
