"""The WebSocket protocol as an AsyncAPI 3 document, generated from the
typed messages (streams/wire/messages.py) and the registered streams, so it
cannot drift from what the server sends: the tests validate real messages
against the schemas in it. Served at `/api/asyncapi.yaml`.
"""

from pydantic.json_schema import models_json_schema

from streams.wire import messages, registry

REF = "#/components/schemas/{model}"


def document(host="127.0.0.1:8080"):
    """The AsyncAPI document as a dict (YAML-ready)."""
    streams = [registry.get(name) for name in registry.names()]
    models = [
        *messages.SYSTEM_MESSAGES.values(),
        messages.FullUpdate,
        messages.Event,
        *messages.CLIENT_FRAMES.values(),
    ]
    for stream in streams:
        models += [*stream.events.values(), *filter(None, [stream.snapshot_model])]
    _, schemas = models_json_schema(
        [(model, "validation") for model in dict.fromkeys(models)],
        ref_template=REF,
    )
    components = {"schemas": schemas["$defs"], "messages": {}}
    received, sent = [], []

    def add(name, payload, summary, into):
        components["messages"][name] = {"name": name, "summary": summary, "payload": payload}
        into.append({"$ref": f"#/channels/ws/messages/{name}"})

    for type_, model in messages.SYSTEM_MESSAGES.items():
        add(type_, _ref(model), (model.__doc__ or type_).strip().splitlines()[0], received)
    for stream in streams:
        if stream.snapshot_model is not None:
            add(
                f"{stream.name}.full_update",
                _narrowed(messages.FullUpdate, stream.name, "full_update", stream.snapshot_model),
                f"The {stream.name} snapshot, right after subscribed.",
                received,
            )
        for type_, model in stream.events.items():
            add(
                f"{stream.name}.{type_}",
                _narrowed(messages.Event, stream.name, type_, model),
                f"A {type_} event of {stream.name}.",
                received,
            )
    for action, model in messages.CLIENT_FRAMES.items():
        add(f"client.{action}", _ref(model), f"The client's {action} frame.", sent)

    channel_messages = {
        name: {"$ref": f"#/components/messages/{name}"} for name in components["messages"]
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Trading monitor streams",
            "version": "1",
            "description": "PROTOCOL.md version 1; this project's reading of it is "
            "docs/protocol.md. Stream events carry seq and epoch; "
            "subscribe may carry since to resume from history.",
        },
        "servers": {"default": {"host": host, "protocol": "ws", "pathname": "/ws"}},
        "channels": {"ws": {"address": "/ws", "messages": channel_messages}},
        "operations": {
            "receive": {
                "action": "receive",
                "channel": {"$ref": "#/channels/ws"},
                "summary": "Messages the server sends.",
                "messages": received,
            },
            "send": {
                "action": "send",
                "channel": {"$ref": "#/channels/ws"},
                "summary": "Frames a client sends.",
                "messages": sent,
            },
        },
        "components": components,
    }


def _ref(model):
    return {"$ref": REF.format(model=model.__name__)}


def _narrowed(envelope, stream, type_, data_model):
    """`envelope` with its stream, type and data fixed for one message."""
    return {
        "allOf": [
            _ref(envelope),
            {
                "properties": {
                    "stream": {"const": stream},
                    "type": {"const": type_},
                    "data": _ref(data_model),
                }
            },
        ]
    }
