"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1e3``, ``0.5``) as exact numbers.

Follows k8s.io/apimachinery/pkg/api/resource: decimal SI suffixes (n u m "" k M G T P E),
binary suffixes (Ki Mi Gi Ti Pi Ei) and decimal exponents (``1e3``, ``1E-3``).
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_RE = re.compile(
    r"^\s*([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?\s*$"
)


def parse_quantity(value: object) -> Decimal | None:
    """Exact value of a quantity, or None if ``value`` is not one.

    >>> parse_quantity("500m") == parse_quantity("0.5") == parse_quantity(0.5)
    True
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if not isinstance(value, str):
        return None
    return _parse_text(value)


@functools.lru_cache(maxsize=4096)
def _parse_text(value: str) -> Decimal | None:
    # the same few spellings ("250m", "512Mi") repeat across thousands of objects
    m = _RE.match(value)
    if not m:
        return None
    number, suffix, exponent = m.groups()
    try:
        base = Decimal(number)
    except InvalidOperation:
        return None
    if exponent is not None:
        return base.scaleb(int(exponent))
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    return base * _DECIMAL[suffix or ""]


def cpu_cores(value: object) -> float:
    """CPU quantity in cores (``"250m"`` -> 0.25); 0.0 when absent or unparseable."""
    q = parse_quantity(value)
    return float(q) if q is not None else 0.0


def memory_gib(value: object) -> float:
    """Memory quantity in GiB (``"512Mi"`` -> 0.5); 0.0 when absent or unparseable."""
    q = parse_quantity(value)
    return float(q) / 2**30 if q is not None else 0.0


_BINARY_DESC = (
    ("Ei", 2**60),
    ("Pi", 2**50),
    ("Ti", 2**40),
    ("Gi", 2**30),
    ("Mi", 2**20),
    ("Ki", 2**10),
)
_DECIMAL_DESC = (
    ("E", Decimal("1e18")),
    ("P", Decimal("1e15")),
    ("T", Decimal("1e12")),
    ("G", Decimal("1e9")),
    ("M", Decimal("1e6")),
    ("k", Decimal("1e3")),
    ("", Decimal(1)),
    ("m", Decimal("1e-3")),
)


def canonical_quantity(value: object) -> object:
    """The spelling the API server stores for a quantity: ``"0.25"`` -> ``"250m"``,
    ``"0.5Gi"`` -> ``"512Mi"``, ``"1000M"`` -> ``"1G"``, ``0.5`` -> ``"500m"``.

    Covers the common shapes (binary suffixes on whole multiples of 1 Ki, decimal values
    at milli precision); anything else (exponent notation, sub-milli values) comes back
    unchanged. The diff compares quantities by value either way: this only lets equal
    subtrees compare equal with ``==``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        return value
    m = _RE.match(text)
    if not m:
        return value
    _, suffix, exponent = m.groups()
    if exponent is not None:
        return value
    q = parse_quantity(text)
    if q is None:
        return value
    if suffix in _BINARY and q == q.to_integral_value() and abs(q) >= 1024:
        n = int(q)
        for name, size in _BINARY_DESC:
            if n % size == 0:
                return f"{n // size}{name}"
    milli = q * 1000
    if milli != milli.to_integral_value():
        return value
    if q == 0:
        return "0"
    for unit, factor in _DECIMAL_DESC:
        scaled = q / factor
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{unit}"
    return value
