"""Validators for Chinese identifiers, usable as plain functions or pydantic types.

Each `check_*` function returns the normalised value or raises `ValueError` with a reason a
person can act on (pydantic turns it into a 422 naming the field).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

from wushe import clock

# --- resident identity card number, GB 11643-1999 -----------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def resident_id_check_char(first17: str) -> str:
    """The mod-11 check character over the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def check_resident_id(value: str, *, today: date | None = None) -> str:
    """A valid 18-character resident ID number: format, birth date and check character."""
    v = value.strip().upper()
    if not _ID_RE.match(v):
        raise ValueError("resident ID must be 17 digits followed by a digit or X")
    birth = resident_id_birth_date(v)
    if birth > (today or clock.today()) or birth.year < 1850:
        raise ValueError("resident ID birth date is outside 1850..today")
    if resident_id_check_char(v[:17]) != v[17]:
        raise ValueError("resident ID check character does not match (GB 11643 mod 11)")
    return v


def resident_id_birth_date(value: str) -> date:
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValueError("resident ID birth date (digits 7-14) is not a calendar date") from exc


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the family name's first character stays."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1)


def mask_resident_id(value: str) -> str:
    """Shown as 110105********002X: region kept, birth date and sequence hidden."""
    return value[:6] + "*" * 8 + value[14:] if len(value) == 18 else "*" * len(value)


# --- unified social credit code, GB 32100-2015 ----------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NP-RT-UW-Y]{2}\d{6}[0-9A-HJ-NP-RT-UW-Y]{10}$")


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """A valid 18-character unified social credit code (统一社会信用代码)."""
    v = value.strip().upper()
    if not _USCC_RE.match(v):
        raise ValueError(
            "credit code must be 18 characters: 2 code chars, a 6-digit region "
            "code, 10 code chars (no I, O, Z, S, V)"
        )
    if uscc_check_char(v[:17]) != v[17]:
        raise ValueError("credit code check character does not match (GB 32100 mod 31)")
    return v


# --- mainland mobile numbers ------------------------------------------------------------------

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def check_mobile(value: str) -> str:
    """An 11-digit mainland mobile number; a +86 / 0086 prefix and separators are dropped."""
    v = re.sub(r"[\s-]", "", value)
    v = re.sub(r"^(\+86|0086)", "", v)
    if not _MOBILE_RE.match(v):
        raise ValueError("mobile number must be 11 digits starting with 13-19")
    return v


def mask_mobile(value: str) -> str:
    return value[:3] + "****" + value[7:] if len(value) == 11 else "*" * len(value)


# --- region codes, GB/T 2260 and the statistical township codes -------------------------------

_REGION_RE = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$")


def check_region_code(value: str) -> str:
    """A region code or code prefix: province (2), city (4), county (6), township (9) or
    village/community (12) digits. Trailing zero padding (360000, 360100000000) is kept as
    given; use `region_prefix` to get the meaningful prefix."""
    v = value.strip()
    if not _REGION_RE.match(v):
        raise ValueError("region code must have 2, 4, 6, 9 or 12 digits (GB/T 2260)")
    if not 11 <= int(v[:2]) <= 82:
        raise ValueError("region code must start with a province code 11..82")
    return v


def region_prefix(code: str) -> str:
    """The significant prefix of a padded code: 360000 -> 36, 360100 -> 3601."""
    v = check_region_code(code)
    for length in (2, 4, 6, 9):
        if len(v) > length and set(v[length:]) == {"0"}:
            return v[:length]
    return v


def in_region(code: str, scope: str) -> bool:
    """True when region `code` lies inside `scope` (a prefix such as 36 or 3601)."""
    return code.startswith(region_prefix(scope))


ResidentId = Annotated[str, AfterValidator(check_resident_id)]
CreditCode = Annotated[str, AfterValidator(check_uscc)]
MobileNumber = Annotated[str, AfterValidator(check_mobile)]
RegionCode = Annotated[str, AfterValidator(check_region_code)]
