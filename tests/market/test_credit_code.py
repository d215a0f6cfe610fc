"""统一社会信用代码: real codes pass, every single-character typo is caught."""
import string

import pytest

from market.credit_code import ALPHABET, CreditCodeError, is_valid_credit_code, make_credit_code, normalise_credit_code

REAL_CODES = ["91110000600037341L", "9144030071526726XG", "91110000710926094P", "91310000631696382C"]
TYPED = string.digits + string.ascii_uppercase + string.ascii_lowercase


def reason(code: str) -> str | None:
    try:
        normalise_credit_code(code)
    except CreditCodeError as error:
        return error.reason
    return None


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_accepted(code):
    assert normalise_credit_code(code) == code
    assert normalise_credit_code(f"  {code}\t") == code


@pytest.mark.parametrize("code", REAL_CODES)
@pytest.mark.parametrize("position", range(18))
def test_every_substitution_is_refused(code, position):
    accepted = []
    for char in TYPED:
        if char == code[position]:
            continue
        typo = code[:position] + char + code[position + 1:]
        if is_valid_credit_code(typo):
            accepted.append(typo)
    assert accepted == []


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_deletion_and_insertion_is_refused_for_length(code):
    for position in range(18):
        assert reason(code[:position] + code[position + 1:]) == "length"
    for position in range(19):
        for char in TYPED:
            assert reason(code[:position] + char + code[position:]) == "length"


@pytest.mark.parametrize("code", REAL_CODES)
@pytest.mark.parametrize("letter", "IOSVZ")
def test_letters_outside_the_alphabet_are_refused_as_charset(code, letter):
    for position in range(18):
        assert reason(code[:position] + letter + code[position + 1:]) == "charset"


@pytest.mark.parametrize("code", REAL_CODES)
def test_lower_case_is_refused_not_folded(code):
    lowered = code.lower()
    assert lowered != code
    assert reason(lowered) == "charset"


def test_substitutions_inside_the_alphabet_fail_on_the_check_character():
    """Where the first two characters stay valid and the division code stays digits, the check catches it."""
    code = REAL_CODES[0]
    for position in range(8, 17):
        for char in ALPHABET:
            if char != code[position]:
                assert reason(code[:position] + char + code[position + 1:]) == "check"


def test_letter_led_code_is_accepted():
    """GB 32100 allows a letter as registration authority (N: 农业, category 1: 农民专业合作社)."""
    code = make_credit_code("N1330106MA2H0K3P7")
    assert len(code) == 18 and code[0] == "N"
    assert normalise_credit_code(code) == code
    for char in ALPHABET:
        if char != code[17]:
            assert reason(code[:17] + char) == "check"


def test_unknown_authority_or_category_is_refused():
    body = "91110000600037341"
    assert reason(make_credit_code("B" + body[1:])) == "authority"   # no authority B
    assert reason(make_credit_code("94" + body[2:])) == "authority"  # 工商 has no category 4


@pytest.mark.parametrize("raw", ["", None, " " * 18])
def test_empty_is_refused(raw):
    assert reason(raw) == "length"
