"""What a query parameter's value must look like, where a regular expression says it exactly.

The server checks values against these, and the OpenAPI schema publishes the same patterns
(api/openapi.py), so that the two cannot disagree: every value a pattern matches is accepted,
every other one refused with a 400. They are written for both Python's ``re`` and JSON
Schema's ECMA-262 dialect: ASCII classes (``[0-9]``, never ``\\d``, which Python reads as any
script's digits), no look-arounds, anchored with ``^…$``.
"""

import re

_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"  # 0001 to 9999
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"  # the 1st to the 28th of any month
    "|(?:0[13-9]|1[0-2])-(?:29|30)"  # the 29th and 30th, but not in February
    "|(?:0[13578]|1[02])-31)"  # the 31st of long months
)
# Divisible by 4 but not by 100, or by 400 (never year 0).
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DAY = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,6})?)?"
_ZONE = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"

# An ISO 8601 time: a day that exists, hours and minutes (seconds and up to six decimals if
# you like), and Z or an offset; without one, the time is read as UTC.
TIME = f"^{_DAY}T{_CLOCK}{_ZONE}?$"

# A cursor as the `next` and `previous` links carry it (DRF's: base64 of a query string).
# Only cursors those links gave are accepted; anything else is refused, this shape or not.
CURSOR = "^[A-Za-z0-9+/]+={0,2}$"

# Files of the export bundle, comma-separated (exports.bundle.FORMATS).
EXPORT_FORMAT = "(?:csv|json|xlsx)"
EXPORT_FORMATS = f"^{EXPORT_FORMAT}(?:,{EXPORT_FORMAT})*$"

# A text with something in it: one character that is neither NUL nor ASCII white space. A NUL
# can't be stored or compared (PostgreSQL refuses it), and blank text is as good as empty.
_TEXT_CHAR = "[^\\u0000\\t\\n\\v\\f\\r ]"
TEXT = f"^[^\\u0000]*{_TEXT_CHAR}[^\\u0000]*$"
BLANK = " \t\n\v\f\r"


def ordering(fields) -> str:
    """Sort keys, comma-separated, each with an optional leading ``-``."""
    term = f"-?(?:{'|'.join(re.escape(field) for field in fields)})"
    return f"^{term}(?:,{term})*$"


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` has the shape ``pattern`` describes (Python's reading of it).

    JSON Schema's ``\\u0000`` escapes become Python's, which reads ``\\u`` the same way."""
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value) is not None


def is_blank(value: str) -> bool:
    return not value.strip(BLANK)
