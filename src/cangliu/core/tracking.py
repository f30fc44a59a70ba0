"""Serials, lots and check digits (grows with the traceability issue)."""


def gs1_check_digit(payload: str) -> str:
    """GS1 mod-10 check digit (EAN-13, GTIN-14, SSCC): weights 3,1,3,… from the right."""
    if not payload.isdigit():
        raise ValueError("GS1 payloads are digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)
