"""The typed messages (streams/wire/messages.py) are the protocol: every stream
declares its events and snapshot, every error code is typed, and the
project's protocol page names every one of them. Every message the tests
receive is validated against them (tests/support/websocket.py)."""

import re
import typing
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.wire import errors, messages, registry
from streams.wire.protocol import message

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def documented_types():
    """The message types docs/protocol.md puts in a table's first column."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", DOC, re.MULTILINE))


@pytest.mark.parametrize("name", registry.names())
def test_every_stream_declares_its_events_and_snapshot(name):
    stream = registry.get(name)
    assert stream.events, f"{name} declares no event types"
    assert stream.snapshot is None or stream.snapshot_model is not None


def test_the_protocol_page_names_every_message_type_and_error_code():
    types = set(messages.SYSTEM_MESSAGES) | {"full_update"}
    for name in registry.names():
        types |= set(registry.get(name).events)
    codes = set(typing.get_args(messages.ErrorData.model_fields["code"].annotation))
    missing = (types | codes) - documented_types()
    assert not missing, f"docs/protocol.md does not describe {sorted(missing)}"


def test_every_error_class_has_a_typed_code():
    codes = set(typing.get_args(messages.ErrorData.model_fields["code"].annotation))
    classes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.ProtocolError)
        and cls is not errors.ProtocolError
    }
    assert classes <= codes


def test_an_undeclared_field_is_a_schema_bug():
    event = message(
        "ticker",
        "market_data",
        {"symbol": "X", "price": 1, "bid": 1, "ask": 1, "volume_24h": 1, "colour": "red"},
        seq=1,
        epoch="e",
    )
    with pytest.raises(ValidationError, match="colour"):
        messages.validate(event)


def test_an_event_type_the_stream_does_not_declare_is_refused():
    with pytest.raises(ValueError, match="declares no event"):
        messages.validate(message("state_change", "market_data", {}, seq=1, epoch="e"))
