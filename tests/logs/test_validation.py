"""Bad input to `POST /api/logs/`: the documented status, an error naming
the field, and nothing from that request stored, not even its good
entries."""

import json

import pytest

from logs.models import FrontendLogEntry
from logs.parsers import MAX_BODY_BYTES
from logs.serializers import MAX_CONTEXT_BYTES, MAX_ENTRIES, MAX_MESSAGE_BYTES

pytestmark = pytest.mark.django_db

GOOD = {"level": "error", "message": "a good entry that must not be stored"}


def nested(depth):
    """A context object `depth` levels deep, itself included."""
    context = {}
    for _ in range(depth - 1):
        context = {"inner": context}
    return context


def in_batch(entry):
    """`entry` between two good ones, so a partial store would show."""
    return {"entries": [GOOD, entry, GOOD]}


@pytest.fixture
def refused(send, frontend_lines):
    """POSTs a body and checks the request left nothing behind."""

    def post(body):
        response = send(body)
        assert not FrontendLogEntry.objects.exists()
        assert frontend_lines() == []
        return response

    return post


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"level": "LOUD", "message": "x"}, "level"),
        ({"level": 40, "message": "x"}, "level"),
        ({"level": None, "message": "x"}, "level"),
        ({"message": "x"}, "level"),
        ({"level": "warn"}, "message"),
        ({"level": "warn", "message": 42}, "message"),
        ({"level": "warn", "message": None}, "message"),
        ({"level": "warn", "message": ["x"]}, "message"),
        ({"level": "warn", "message": ""}, "message"),
        ({"level": "warn", "message": "x" * (MAX_MESSAGE_BYTES + 1)}, "message"),
        # 2,731 characters, but 8,193 bytes in UTF-8.
        ({"level": "warn", "message": "€" * 2731}, "message"),
        ({"level": "warn", "message": "nul \u0000 inside"}, "message"),
        ({"level": "warn", "message": "x", "source": 7}, "source"),
        ({"level": "warn", "message": "x", "source": "s" * 101}, "source"),
        ({"level": "warn", "message": "x", "url": {"href": "/"}}, "url"),
        ({"level": "warn", "message": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"level": "warn", "message": "x", "timestamp": 1735689600000}, "timestamp"),
        ({"level": "warn", "message": "x", "context": "not an object"}, "context"),
        ({"level": "warn", "message": "x", "context": [1, 2]}, "context"),
        ({"level": "warn", "message": "x", "context": nested(6)}, "context"),
        (
            {"level": "warn", "message": "x", "context": {"blob": "x" * MAX_CONTEXT_BYTES}},
            "context",
        ),
        ({"level": "warn", "message": "x", "count": 0}, "count"),
        ({"level": "warn", "message": "x", "count": "many"}, "count"),
    ],
)
def test_a_bad_entry_is_refused_with_its_field_named(refused, entry, field):
    single = refused(entry)
    batch = refused(in_batch(entry))

    assert single.status_code == 400
    assert field in single.json(), single.json()
    assert batch.status_code == 400
    assert field in batch.json()["entries"]["1"], batch.json()


def test_a_lone_surrogate_is_refused(refused):
    """Python's json reads "\\ud800" as a lone surrogate, which neither
    PostgreSQL nor a UTF-8 file can hold."""
    response = refused('{"level": "warn", "message": "half \\ud800 a pair"}')

    assert response.status_code == 400
    assert "message" in response.json()


def test_a_context_five_deep_is_taken(send):
    response = send({"level": "warn", "message": "x", "context": nested(5)})

    assert response.status_code == 202


def test_a_message_of_exactly_the_limit_is_taken(send):
    response = send({"level": "warn", "message": "x" * MAX_MESSAGE_BYTES})

    assert response.status_code == 202


def test_a_batch_over_the_entry_limit_is_refused(refused):
    response = refused({"entries": [GOOD] * (MAX_ENTRIES + 1)})

    assert response.status_code == 400
    assert response.json() == {
        "entries": [f"Ensure a batch has no more than {MAX_ENTRIES} entries (it has 101)."]
    }


@pytest.mark.parametrize("entries", ["x", {"level": "warn"}, None, 3])
def test_entries_that_are_not_a_list_are_refused(refused, entries):
    response = refused({"entries": entries})

    assert response.status_code == 400
    assert "entries" in response.json()


@pytest.mark.parametrize("body", ["[]", '"text"', "17", "null"])
def test_a_body_that_is_not_an_object_is_refused(refused, body):
    response = refused(body)

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


@pytest.mark.parametrize("body", ["{", "not json", '{"level": "warn", "message": NaN}'])
def test_a_body_that_is_not_json_is_refused(refused, body):
    response = refused(body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_a_body_nested_past_the_parsers_recursion_is_refused(refused):
    response = refused("[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400


def test_a_body_over_the_size_limit_gets_413(refused):
    entry = {"level": "warn", "message": "x" * 8000}
    body = json.dumps({"entries": [entry] * (MAX_BODY_BYTES // 8000 + 1)})
    assert len(body) > MAX_BODY_BYTES

    response = refused(body)

    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["detail"]


def test_nul_and_lone_surrogates_in_a_context_are_kept_as_replacement_characters(send):
    response = send(
        '{"level": "warn", "message": "x", "context": {"k\\u0000": ["\\ud800 nul \\u0000"]}}'
    )

    assert response.status_code == 202
    assert FrontendLogEntry.objects.get().context == {"k\ufffd": ["\ufffd nul \ufffd"]}
