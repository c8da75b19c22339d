"""The shape of a `POST /api/logs/` body (PROTOCOL.md, "Frontend logs").

A body is one entry or `{"entries": [...]}` (at most MAX_ENTRIES). An
entry: `level` (DEBUG, INFO, WARN/WARNING, ERROR, CRITICAL, any case),
`message` (a non-empty string of at most 8 KiB in UTF-8), and optionally
`source` (string), `url` (string), `timestamp` (ISO 8601), `context` (an
object of at most 16 KiB as JSON, 5 levels deep) and `count` (how many
identical messages the browser collapsed into this one; default 1).

Every entry, whatever its level, is checked before anything is kept, so a
request is taken whole or not at all. Unknown keys of an entry are ignored,
so a newer client can send more; a batch holds `entries` and nothing else,
so one body never mixes the two forms. Levels match in any case of ASCII
letters, exactly (no spaces around them). logs/schema.py says the same in
OpenAPI.
"""

import json
import re

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

MAX_ENTRIES = 100
MAX_MESSAGE_BYTES = 8 * 1024
MAX_CONTEXT_BYTES = 16 * 1024
# The context object itself is level 1: {"a": {"b": 1}} is 2 deep.
MAX_CONTEXT_DEPTH = 5
# A browser collapses at most this many identical messages into one entry
# (logger.js starts another past it); more is a forged count.
MAX_COUNT = 1_000

# Wire names (case-insensitive) -> the names the server keeps.
LEVELS = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
}


# NUL and lone surrogates: PostgreSQL stores neither. One search at C speed
# rather than Django's and DRF's validators, whose per-character Python loop
# took 0.1 s on a full body.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def refuse_unstorable(text):
    found = _UNSTORABLE.search(text)
    if found:
        code_point = f"U+{ord(found.group()):04X}"
        raise serializers.ValidationError(
            f"Null characters and lone surrogates are not allowed (found {code_point}).",
            code="unstorable",
        )


class LevelField(serializers.Field):
    default_error_messages = {
        "invalid": "Must be a string: one of DEBUG, INFO, WARN, ERROR, CRITICAL.",
        "unknown": "Unknown level {value!r}; use one of DEBUG, INFO, WARN, ERROR, CRITICAL.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        # ASCII only: str.upper() maps some other letters onto ASCII ones
        # ("ınfo" -> "INFO"), which no schema pattern could say.
        level = LEVELS.get(data.upper()) if data.isascii() else None
        if level is None:
            self.fail("unknown", value=data[:40])
        return level

    def to_representation(self, value):
        return value


class CountField(serializers.IntegerField):
    """An integer, and only that: DRF's IntegerField also takes `"5"` and
    `5.0`, which the schema (`type: integer`) calls invalid."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StringField(serializers.CharField):
    """A CharField that refuses numbers instead of turning them into text,
    can limit the UTF-8 size (what the database and the file hold) rather
    than the number of characters, and checks for unstorable characters
    with refuse_unstorable instead of CharField's slow validators."""

    default_error_messages = {
        "invalid": "Must be a string.",
        "max_bytes": "Ensure this field has no more than {max_bytes} bytes in UTF-8 (it has {size}).",
    }

    def __init__(self, *, max_bytes=None, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(
                validator, (ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)
            )
        ] + [refuse_unstorable]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if self.max_bytes is not None:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > self.max_bytes:
                self.fail("max_bytes", max_bytes=self.max_bytes, size=size)
        return value


def _deeper_than(value, limit):
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    return limit == 0 or any(_deeper_than(child, limit - 1) for child in children)


def _storable(value):
    """`value` (any JSON value) with NUL and lone surrogates in its keys
    and strings replaced by U+FFFD, as a new value."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable(key): _storable(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_storable(child) for child in value]
    return value


class ContextField(serializers.DictField):
    """Any JSON object, bounded in size and depth. NUL and lone surrogates
    (PostgreSQL's jsonb refuses both) are kept as U+FFFD rather than
    refused: the context is whatever a page had at hand, and an OpenAPI 3.0
    schema can't forbid a character in an object's keys."""

    default_error_messages = {
        "too_deep": f"Ensure the context is nested no deeper than {MAX_CONTEXT_DEPTH} levels.",
        "too_large": "Ensure the context has no more than {max_bytes} bytes as JSON (it has {size}).",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if _deeper_than(value, MAX_CONTEXT_DEPTH):
            self.fail("too_deep")
        size = len(
            json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
                "utf-8", "surrogatepass"
            )
        )
        if size > MAX_CONTEXT_BYTES:
            self.fail("too_large", max_bytes=MAX_CONTEXT_BYTES, size=size)
        return _storable(value)


class EntrySerializer(serializers.Serializer):
    level = LevelField()
    message = StringField(max_bytes=MAX_MESSAGE_BYTES, trim_whitespace=False)
    source = StringField(max_length=100, allow_blank=True, default="")
    url = StringField(max_length=2048, allow_blank=True, default="")
    timestamp = serializers.DateTimeField(required=False)
    context = ContextField(default=dict)
    count = CountField(min_value=1, max_value=MAX_COUNT, default=1)

    def validate(self, attrs):
        self.context["budget"].check()
        return attrs


class EntryListField(serializers.ListField):
    """A list of entries whose length is checked before any entry is, so an
    oversized batch costs no per-entry work."""

    default_error_messages = {
        "too_many": "Ensure a batch has no more than {max_entries} entries (it has {length}).",
    }

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > MAX_ENTRIES:
            self.fail("too_many", max_entries=MAX_ENTRIES, length=len(data))
        return super().to_internal_value(data)


class BatchSerializer(serializers.Serializer):
    entries = EntryListField(child=EntrySerializer())


def validated_entries(data, budget):
    """The entries of a parsed body; raises ValidationError (400) with an
    error per field (`{"entries": {"3": {"level": [...]}}}` for a batch),
    or PayloadTooLarge (413) once the request's CPUBudget is spent."""
    context = {"budget": budget}
    if isinstance(data, dict) and "entries" in data:
        mixed = sorted(set(data) - {"entries"})
        if mixed:
            # One form or the other: an entry's fields beside `entries`
            # were silently ignored, and "taken whole" would not hold.
            raise serializers.ValidationError(
                {key: ['A batch holds only "entries"; put this inside an entry.'] for key in mixed}
            )
        batch = BatchSerializer(data=data, context=context)
        batch.is_valid(raise_exception=True)
        return batch.validated_data["entries"]
    entry = EntrySerializer(data=data, context=context)
    entry.is_valid(raise_exception=True)
    return [entry.validated_data]
