"""Alpha-5 catalogue numbers: five TLE columns for satellite numbers up to 339 999.

A number below 100 000 is written as five digits. From 100 000 on, the ten-thousands are written as
one capital letter and the rest as four digits: ``A`` = 10, ``B`` = 11, … ``Z`` = 33, skipping
``I`` and ``O`` (they read like 1 and 0), so ``A0000`` = 100 000 and ``Z9999`` = 339 999
(Space-Track "Alpha-5" convention, adopted by 18 SDS in 2020).
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["ALPHA5_MAX", "to_alpha5", "from_alpha5"]

ALPHA5_MAX = 339_999  # largest catalogue number five Alpha-5 columns can hold ('Z9999')
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # 24 letters for the ten-thousands 10..33 (no I, no O)
_VALUE = {c: 10 + i for i, c in enumerate(_LETTERS)}


def to_alpha5(sat_id: int) -> str:
    """Five-column catalogue number: digits below 100 000, letter + 4 digits above.

    Parameters
    ----------
    sat_id : int — catalogue number, 0 … 339 999

    Returns
    -------
    str of length 5

    >>> to_alpha5(25544), to_alpha5(100000), to_alpha5(339999)
    ('25544', 'A0000', 'Z9999')
    """
    n = int(sat_id)
    if n != sat_id or not 0 <= n <= ALPHA5_MAX:
        raise InputError(f"catalogue number {sat_id!r} outside [0, {ALPHA5_MAX}], the Alpha-5 range")
    if n < 100_000:
        return f"{n:05d}"
    high, low = divmod(n, 10_000)
    return f"{_LETTERS[high - 10]}{low:04d}"


def from_alpha5(field: str) -> int:
    """Catalogue number from a five-column TLE field (digits, or Alpha-5 letter + 4 digits).

    Leading blanks are allowed before a plain number (``'  123'``), as old TLEs have them.

    >>> from_alpha5('25544'), from_alpha5('A0000'), from_alpha5('Z9999'), from_alpha5('  123')
    (25544, 100000, 339999, 123)
    """
    text = field.lstrip(" ")
    if len(field) != 5 or not text:
        raise InputError(f"catalogue number {field!r} is not 5 columns of digits or Alpha-5")
    head, tail = text[0], text[1:]
    if head in _VALUE and len(text) == 5 and tail.isascii() and tail.isdigit():
        return _VALUE[head] * 10_000 + int(tail)
    if text.isascii() and text.isdigit():
        return int(text)
    raise InputError(
        f"catalogue number {field!r} is not 5 digits or Alpha-5 (a letter A-Z without I/O, then 4 digits)"
    )
