"""Schemathesis hooks for the hub's contract (loaded through SCHEMATHESIS_HOOKS).

Both hooks make schemathesis read the contract the way the hub (Ajv) and the JSON Schema
specification do, so that what it sends as valid data is really valid:

- The contract uses string formats of its own (contracts/formats.ts). Without a strategy
  schemathesis generates arbitrary strings for them. These strategies generate only values
  the hub's formats accept.
- JSON Schema patterns are ECMA-262 regular expressions. Schemathesis reads them with
  Python's `re`, where `.` and `\s` mean less than in ECMA-262 (see ecma_pattern below).
"""

import uuid
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


# ECMA-262 `\s` (WhiteSpace and LineTerminator) and the characters its `.` does not match.
# Python's `re` (and schemathesis' ASCII reading of it) leaves out all but the ASCII ones:
# without this, "a\rb" or "\u3000Li" pass for a PersonName (`^\S(.*\S)?$`) that Ajv refuses.
ECMA_WHITESPACE = "\t\n\x0b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
ECMA_LINE_TERMINATORS = "\n\r\u2028\u2029"


def ecma_pattern(pattern: str) -> str:
    """The pattern with `.`, `\\s` and `\\S` spelled out as ECMA-262 classes, which every regex
    dialect reads alike. A `\\S` inside a class cannot be spelled out; such a pattern is kept."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped == "s":
                out.append(ECMA_WHITESPACE if in_class else f"[{ECMA_WHITESPACE}]")
            elif escaped == "S":
                if in_class:
                    return pattern
                out.append(f"[^{ECMA_WHITESPACE}]")
            else:
                out.append(c + escaped)
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            # A "]" or "^]" right after "[" is a literal in Python: keep it inside the class.
            for literal in ("^", "]"):
                if pattern.startswith(literal, i + 1):
                    out.append(literal)
                    i += 1
        elif c == ".":
            out.append(f"[^{ECMA_LINE_TERMINATORS}]")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _rewrite_patterns(node: object) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                node[key] = ecma_pattern(value)
            else:
                _rewrite_patterns(value)
    elif isinstance(node, list):
        for item in node:
            _rewrite_patterns(item)


@schemathesis.hook
def before_load_schema(context, raw_schema):
    _rewrite_patterns(raw_schema)


# CAP 1.2 XML bodies (POST /v1/incidents documents application/cap+xml and application/xml
# with schema `{type: string}`: the body is the XML document itself).
# - Sent as the text it is: schemathesis' own XML serializer would wrap the string in an
#   element of its own (`<data>&lt;alert ...</data>`), which is not the document.
# - A generated string is any text, which the schema allows but CAP does not: as valid data it
#   becomes a CAP alert whose identifier is taken from the string (the same string, the same
#   alert), so "valid data is accepted" tests the hub's CAP path; the documented examples and
#   non-strings (invalid data) go as they are. The JSON form `{"xml": "<the text>"}` (what
#   the action takes over NATS, also accepted as JSON) is treated alike.
CAP_XML_TYPES = ("application/cap+xml", "application/xml")
CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"


@schemathesis.serializer(*CAP_XML_TYPES)
def cap_xml_serializer(ctx, value):
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else str(value)).encode("utf-8")


def _cap_alert(seed: str) -> str:
    import hashlib

    identifier = "ST-" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return (
        f'<alert xmlns="{CAP_NAMESPACE}"><identifier>{identifier}</identifier>'
        "<sender>schemathesis@test.example</sender><sent>2026-11-28T09:00:00+08:00</sent>"
        "<status>Test</status><msgType>Alert</msgType><scope>Public</scope>"
        "<info><category>Safety</category><event>Schemathesis probe</event><urgency>Unknown</urgency>"
        "<severity>Unknown</severity><certainty>Unknown</certainty>"
        "<area><areaDesc>Nowhere in particular</areaDesc></area></info></alert>"
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if case.media_type in CAP_XML_TYPES and isinstance(body, str) and CAP_NAMESPACE not in body:
        case.body = _cap_alert(body)
    elif (
        case.path == "/v1/incidents"
        and isinstance(body, dict)
        and list(body) == ["xml"]
        and isinstance(body["xml"], str)
        and 0 < len(body["xml"]) <= 32768
        and CAP_NAMESPACE not in body["xml"]
    ):
        case.body = {"xml": _cap_alert(body["xml"])}


# An Idempotency-Key names one request: the hub answers a key reused with another request
# 422, as it should. Schemathesis draws keys from a small space ("0", "00..."), so each call
# gets a fresh one; the hub's own tests cover reuse.
@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
