"""The engine's documented maxima (docs/match-format.md, "Limits"): what an instance may hold.

Checked before anything is allocated for the instance — the JSON front door refuses an input
that is too large or too deeply nested before it parses it, and a count above its maximum before
it builds the records; `validate` refuses every number beyond its maximum before the columnar
view is built — so absurd input is an `InputError` naming the field, never an OverflowError from
numpy's int64 columns or gigabytes of slot bitsets.

The amount and count maxima agree with what the platform's columns hold (tests check it):
amounts with `market.models.MAX_AMOUNT_YUAN`, counts with an Integer column, tables with an event
session's `tables_in_range`. The engine imports nothing of the platform, so they are numbers here.
"""
from __future__ import annotations

MAX_INPUT_BYTES = 256 * 1024 * 1024  # 256 MiB; the national benchmark instance is about 39 MB
MAX_JSON_DEPTH = 64  # the format itself nests 3 deep (document → list → record → list)

MAX_SLOTS = 1_440  # a day of one-minute slots, five days of five-minute ones
MAX_TABLES = 500  # an institution's tables: as many as a session's hall has
MAX_AMOUNT_YUAN = 100_000_000_000  # 1,000 亿元, as `market.models.MAX_AMOUNT_YUAN`
MAX_COUNT = 2**31 - 1  # max_meetings, term months, basis points: what an Integer column holds

MAX_RECORDS = {  # records per collection
    "enterprises": 500_000,
    "needs": 2_000_000,
    "institutions": 20_000,
    "products": 200_000,
    "requests": 2_000_000,
}
