"""The scanner the personal-data tests rely on finds what it must and nothing else."""

from __future__ import annotations

from wushe_dev.testing import personal_data_in


def test_finds_resident_ids_mobiles_and_names() -> None:
    blob = '{"id":"360104195603120243","tel":"13912345678","who":"胡桂兰"}'.encode()
    assert sorted(personal_data_in(blob, ["胡桂兰"])) == sorted(
        ["360104195603120243", "13912345678", "胡桂兰"]
    )


def test_ignores_masked_forms_ids_inside_longer_strings_and_bad_check_digits() -> None:
    blob = (
        b'{"masked":"360104********0243","tel":"139****5678",'
        b'"hex":"a13912345678b","uuid":"f360104195603120243e",'
        b'"wrong_check":"360104195603120244","fen":123456789012,'
        b'"no_province":"013252940000029412","no_birth_date":"360104195613320249"}'
    )
    assert personal_data_in(blob, ["胡桂兰"]) == []
