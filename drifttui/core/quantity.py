"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1e3``, ``0.5``) as exact numbers.

Follows k8s.io/apimachinery/pkg/api/resource: decimal SI suffixes (n u m "" k M G T P E),
binary suffixes (Ki Mi Gi Ti Pi Ei) and decimal exponents (``1e3``, ``1E-3``).
"""

from __future__ import annotations

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
