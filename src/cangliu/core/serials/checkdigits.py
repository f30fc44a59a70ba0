"""Check characters: the last character of a code that lets a scan catch a mistyped or misread code.

``gs1`` is the GTIN/SSCC mod 10, ``luhn`` the ISO/IEC 7812 card scheme, ``mod11_10`` and
``mod37_36`` the ISO/IEC 7064 hybrid systems (digits; digits and capital letters), ``damm`` the
decimal Damm quasigroup scheme. Messages are English msgids with params, translated at the edge.
"""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Final

from cangliu.core.errors import ValidationFailed

ALGORITHMS: Final[tuple[str, ...]] = ("gs1", "luhn", "mod11_10", "mod37_36", "damm")

DIGITS: Final = "0123456789"
ALPHANUMERIC: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, dissertation 2004, p. 111;
# the table reproduced on Wikipedia "Damm algorithm").
DAMM_TABLE: Final[tuple[tuple[int, ...], ...]] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

UNKNOWN_ALGORITHM: Final = "unknown check digit algorithm {algorithm}; choose one of {choices}"
EMPTY_CODE: Final = "the code is empty"
EMPTY_PAYLOAD: Final = "the payload is empty"
NO_PAYLOAD: Final = "the code has nothing before its check character"
BAD_CHARACTER: Final = "character {character} at position {position} is not allowed by {algorithm}"
MISMATCH: Final = "check digit mismatch: expected {expected}"


@dataclass(frozen=True)
class Verdict:
    """Whether a code's last character is its check character; ``reason`` is an English msgid
    (filled in with ``params``) naming what is wrong, None when valid."""

    valid: bool
    expected: str
    found: str
    reason: str | None = None
    params: dict[str, str] = dc_field(default_factory=dict)

    @property
    def message(self) -> str:
        """The reason in English with its params filled in ("" when valid)."""
        return self.reason.format(**self.params) if self.reason else ""


def _gs1(values: list[int]) -> int:
    # Weights 3, 1, 3, … from the right of the payload (the check digit itself has weight 1).
    total = sum(v * (3 if i % 2 == 0 else 1) for i, v in enumerate(reversed(values)))
    return (10 - total % 10) % 10


def _luhn(values: list[int]) -> int:
    total = 0
    for i, v in enumerate(reversed(values)):
        if i % 2 == 0:  # the payload's last digit is the one doubled once the check is appended
            v = v * 2 - 9 if v > 4 else v * 2
        total += v
    return (10 - total % 10) % 10


def _hybrid(modulus: int) -> Callable[[list[int]], int]:
    """ISO/IEC 7064 hybrid system MOD (M+1),M: MOD 11,10 for M=10, MOD 37,36 for M=36."""

    def compute(values: list[int]) -> int:
        product = modulus
        for v in values:
            total = (product + v) % modulus or modulus
            product = (total * 2) % (modulus + 1)
        return (modulus + 1 - product) % modulus

    return compute


def _damm(values: list[int]) -> int:
    interim = 0
    for v in values:
        interim = DAMM_TABLE[interim][v]
    return interim


_SCHEMES: Final[dict[str, tuple[str, Callable[[list[int]], int]]]] = {
    "gs1": (DIGITS, _gs1),
    "luhn": (DIGITS, _luhn),
    "mod11_10": (DIGITS, _hybrid(10)),
    "mod37_36": (ALPHANUMERIC, _hybrid(36)),
    "damm": (DIGITS, _damm),
}


def _unknown(algorithm: str) -> dict[str, str]:
    return {"algorithm": algorithm, "choices": ", ".join(ALGORITHMS)}


def _first_bad(alphabet: str, text: str) -> int | None:
    """The 0-based index of the first character outside the alphabet, None if all are in it."""
    return next((i for i, c in enumerate(text) if c not in alphabet), None)


def check_character(algorithm: str, payload: str) -> str:
    """The character to append to ``payload`` so that ``verify`` accepts the result."""
    if algorithm not in _SCHEMES:
        raise ValidationFailed.single("algorithm", UNKNOWN_ALGORITHM, **_unknown(algorithm))
    if not payload:
        raise ValidationFailed.single("payload", EMPTY_PAYLOAD)
    alphabet, compute = _SCHEMES[algorithm]
    bad = _first_bad(alphabet, payload)
    if bad is not None:
        raise ValidationFailed.single("payload", BAD_CHARACTER, character=payload[bad],
                                      position=bad + 1, algorithm=algorithm)
    return alphabet[compute([alphabet.index(c) for c in payload])]


def verify(algorithm: str, code: str) -> Verdict:
    """Whether the last character of ``code`` is the check character of the rest."""
    found = code[-1:]
    if algorithm not in _SCHEMES:
        return Verdict(False, "", found, UNKNOWN_ALGORITHM, _unknown(algorithm))
    if not code:
        return Verdict(False, "", "", EMPTY_CODE)
    alphabet, _ = _SCHEMES[algorithm]
    bad = _first_bad(alphabet, code)
    if bad is not None:
        return Verdict(False, "", found, BAD_CHARACTER,
                       {"character": code[bad], "position": str(bad + 1), "algorithm": algorithm})
    if len(code) < 2:
        return Verdict(False, "", found, NO_PAYLOAD)
    expected = check_character(algorithm, code[:-1])
    if expected != found:
        return Verdict(False, expected, found, MISMATCH, {"expected": expected})
    return Verdict(True, expected, found)


def require_valid(algorithm: str, code: str, *, field: str = "code") -> None:
    """Raise ``ValidationFailed`` on ``field`` with the verdict's reason unless the code verifies."""
    verdict = verify(algorithm, code)
    if not verdict.valid:
        name = "algorithm" if verdict.reason == UNKNOWN_ALGORITHM else field
        raise ValidationFailed.single(name, verdict.reason or MISMATCH, **verdict.params)
