from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from wushe.validators import (
    MobileNumber,
    RegionCode,
    ResidentId,
    age_on,
    check_mobile,
    check_region_code,
    check_resident_id,
    check_uscc,
    in_region,
    mask_mobile,
    mask_resident_id,
    region_prefix,
    resident_id_check_char,
    uscc_check_char,
)

# Vectors verified in the notes (GB 11643 mod-11 check).
VALID_IDS = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("value", VALID_IDS)
def test_resident_id_accepts_published_vectors(value: str) -> None:
    assert check_resident_id(value) == value


def test_resident_id_lowercase_x_is_normalised() -> None:
    assert check_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check character"),  # last char altered
        ("11010519491331002X", "calendar date"),  # month 13
        ("11010518000230002X", "calendar date"),  # Feb 30th
        ("1101051949123100", "17 digits"),  # too short
        ("11010519491231002Y", "17 digits"),  # bad check symbol
    ],
)
def test_resident_id_rejects_with_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_resident_id(value)


def test_resident_id_rejects_future_birth_date() -> None:
    first17 = "11010520990101001"
    value = first17 + resident_id_check_char(first17)
    with pytest.raises(ValueError, match="outside"):
        check_resident_id(value, today=date(2026, 11, 23))


def test_every_single_digit_change_is_detected() -> None:
    good = VALID_IDS[1]
    for i in range(17):
        for d in "0123456789":
            if d == good[i]:
                continue
            bad = good[:i] + d + good[i + 1 :]
            with pytest.raises(ValueError, match=r"check character|birth date"):
                check_resident_id(bad)


def test_age_and_masking() -> None:
    assert age_on(date(1949, 12, 31), date(2026, 12, 30)) == 76
    assert age_on(date(1949, 12, 31), date(2026, 12, 31)) == 77
    assert mask_resident_id("11010519491231002X") == "110105********002X"
    assert mask_mobile("13800138000") == "138****8000"


# Unified social credit codes: 91350100M000100Y43 is a widely published valid example;
# the check character of a constructed code is computed independently below.
def test_uscc_valid_and_check_char() -> None:
    assert check_uscc("91350100M000100Y43") == "91350100M000100Y43"
    assert uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100I43", "18 characters"),  # I is not in the alphabet
        ("9135", "18 characters"),
    ],
)
def test_uscc_rejects(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_uscc(value)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008619912345678", "19912345678"),
    ],
)
def test_mobile_normalised(raw: str, normalised: str) -> None:
    assert check_mobile(raw) == normalised


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "23800138000", "phone"])
def test_mobile_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match="11 digits"):
        check_mobile(raw)


def test_region_codes_and_scope() -> None:
    assert check_region_code("36") == "36"
    assert region_prefix("360000") == "36"
    assert region_prefix("360100") == "3601"
    assert region_prefix("360102") == "360102"
    assert in_region("360102001", "36")
    assert in_region("360102001", "360100")
    assert not in_region("440102001", "36")
    for bad in ("3", "3601001", "99", "ab", "00"):
        with pytest.raises(ValueError, match="region code"):
            check_region_code(bad)


def test_annotated_types_give_field_errors() -> None:
    class Person(BaseModel):
        id_number: ResidentId
        phone: MobileNumber
        region: RegionCode

    with pytest.raises(ValidationError) as err:
        Person(id_number="110105194912310021", phone="123", region="36")
    fields = {e["loc"][0] for e in err.value.errors()}
    assert fields == {"id_number", "phone"}
