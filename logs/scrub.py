"""Removes obvious secrets from browser log entries before they are kept.

Browsers log what they hold: request headers, URLs with tokens in the query
string, form values. Anything that looks like a credential is replaced with
`[scrubbed]` in the message, the url and the context (keys that name a
secret lose their whole value). This is a net for accidents, not a promise:
callers should still not log secrets.

A browser also controls how long scrubbing takes, so every pattern runs in
time linear in the text: a match starts at a keyword or at the start of a
run of word characters, never at each word start of a run that it then
scans again (a pattern that let any word run precede its keywords spent
1.6 s on 8 KiB of `a-a-a-...`).
"""

import re

SCRUBBED = "[scrubbed]"

_SECRET_KEY = re.compile(
    r"password|passwd|passphrase|^pass$|^pwd$|secret|token|api[-_]?key|authorization|^auth$"
    r"|cookie|session[-_]?id|csrf|credential|private[-_]?key",
    re.IGNORECASE,
)

# Order matters: a whole Authorization value first, then bare bearer or
# DRF tokens, then key=value pairs, then JWTs wherever they are.
_PATTERNS = [
    # Authorization: Bearer abc / "authorization": "Token abc"
    (
        re.compile(r"""(\bauthorization["']?\s*[:=]\s*["']?)[^"'\r\n,;}]+""", re.IGNORECASE),
        rf"\g<1>{SCRUBBED}",
    ),
    # Bearer abc.def / Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b
    (
        re.compile(r"\b(bearer|token)\s+(?=[\w.~+/=-]*\d)[\w.~+/=-]{16,}", re.IGNORECASE),
        rf"\g<1> {SCRUBBED}",
    ),
    # password=hunter2, ?access_token=abc, "api_key": "abc", csrftoken=abc
    # The keyword starts the match: what precedes it (`access_`) is kept
    # as it is either way, and a `[\w-]*` before it would go quadratic.
    (
        re.compile(
            r"""((?:password|passwd|pwd|secret|token|api[-_]?key|session[-_]?id)"""
            r"""["']?\s*[:=]\s*["']?)[^\s&"',;}]+""",
            re.IGNORECASE,
        ),
        rf"\g<1>{SCRUBBED}",
    ),
    # JSON Web Tokens: header.payload.signature, the header starting {"
    # (base64 `eyJ`) at a word start, even inside a run like `x-eyJ...`.
    # Tried once per run, from its start, committed (atomic group) to the
    # run's first `eyJ`: a later one would reach the same dot anyway.
    (
        re.compile(r"(?<![\w-])(?>([\w-]*?)\beyJ)[\w-]++\.[\w-]++\.[\w-]*+"),
        rf"\g<1>{SCRUBBED}",
    ),
]


def scrub_text(text):
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value):
    """`value` (any JSON value) with secrets replaced, as a new value."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: SCRUBBED if _SECRET_KEY.search(key) else scrub(child)
            for key, child in value.items()
        }
    if isinstance(value, list):
        return [scrub(child) for child in value]
    return value
