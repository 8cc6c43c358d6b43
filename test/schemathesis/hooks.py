"""Schemathesis hooks for the hub's contract (loaded through SCHEMATHESIS_HOOKS).

The contract uses string formats of its own (contracts/formats.ts). Without a strategy
schemathesis would generate arbitrary strings for them, and its positive tests would send
data the hub rightly refuses. These strategies generate only values the hub's Ajv formats
accept, so "positive" data is really valid.
"""

from datetime import date, timedelta

import schemathesis
from hypothesis import strategies as st

# GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARS = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def _resident_id(area: int, born: date, sequence: int) -> str:
    first17 = f"{area:06d}{born:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


# 6-digit area code (first digit 1-9), a birth date that exists, 3-digit sequence, check char.
resident_ids = st.builds(
    _resident_id,
    area=st.integers(min_value=100000, max_value=999999),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1)),
    sequence=st.integers(min_value=0, max_value=999),
)

# E.164: "+", a country code not starting with 0, at most 15 digits in all.
# ASCII digits only: the regex class \d would match any Unicode digit in Python.
e164_numbers = st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z")

schemathesis.openapi.format("resident-id", resident_ids)
schemathesis.openapi.format("e164", e164_numbers)
