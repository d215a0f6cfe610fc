"""统一社会信用代码 (GB 32100-2015): format and check character.

python-stdnum's `stdnum.cn.uscc` implements the check character but refuses a letter as the
first character (the registration-authority code), which GB 32100 allows (e.g. "N" for
farmers' cooperatives, "Y" for other authorities). We therefore check the first two characters
against the standard's own tables and let stdnum verify the check character on a digit-led
equivalent.
"""
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Registration authority (first character) → allowed organisation categories (second character).
AUTHORITY_CATEGORIES = {
    "1": "1239", "2": "19", "3": "1234589", "4": "19", "5": "1239", "6": "129",
    "7": "129", "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}
WEIGHTS = [pow(3, i, 31) for i in range(17)]


class CreditCodeError(ValueError):
    """The code is not a valid 统一社会信用代码; `reason` says why (a translatable message key)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(raw: str) -> str:
    """Return the code (surrounding blanks removed) or raise CreditCodeError.

    Reasons: length | charset | authority | check. Lower case is refused, not folded: the code
    printed on a business licence is upper case, and a folded typo would pass unnoticed.
    """
    code = (raw or "").strip()
    if len(code) != 18:
        raise CreditCodeError("length")
    if any(char not in ALPHABET for char in code):
        # Lower-case letters and I, O, S, V, Z never occur in a code.
        raise CreditCodeError("charset")
    if not code[2:8].isdigit():  # the administrative-division code
        raise CreditCodeError("charset")
    allowed = AUTHORITY_CATEGORIES.get(code[0])
    if allowed is None or code[1] not in allowed:
        raise CreditCodeError("authority")
    if code[0].isdigit():
        try:
            uscc.validate(code)
        except ValidationError:
            raise CreditCodeError("check") from None
    elif check_character(code[:17]) != code[17]:
        raise CreditCodeError("check")
    return code


def is_valid_credit_code(raw: str) -> bool:
    try:
        normalise_credit_code(raw)
    except CreditCodeError:
        return False
    return True


def make_credit_code(body17: str) -> str:
    """Append the check character to 17 characters (used by the demo-data generator)."""
    return body17 + check_character(body17)
