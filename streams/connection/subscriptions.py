"""The subscriptions of one connection (PROTOCOL.md: a subscription is
identified by `(stream, params)`), bounded in number.

Each subscription is one group the connection's hub listens to, and one
seq counter in the store, so without a bound a single client could make
the server hold any number of them (`market_data` with symbols Z1, Z2, ...).
"""

import json
from dataclasses import dataclass, field

from streams.infra import metrics
from streams.wire import errors, groups, registry


@dataclass
class Subscription:
    stream: registry.Stream
    params: dict  # as the client sent them: echoed in replies
    normalized: dict
    group: str
    # Until its full_update (or its replay) is sent, events of the group
    # wait in `buffer`.
    pending: bool = True
    buffer: list = field(default_factory=list)
    # (epoch, seq) the client already has from a snapshot or a replay: live
    # events up to it are not sent again.
    floor: tuple | None = None

    def covers(self, message):
        """Whether the client already has this event; the floor is dropped
        at the first event past it, so the check costs nothing after."""
        floor = self.floor
        if floor is None:
            return False
        if message["epoch"] == floor[0] and message["seq"] <= floor[1]:
            return True
        self.floor = None
        return False

    @property
    def session_id(self):
        return self.stream.session_of(self.normalized)


def lookup(frame):
    """(stream, raw params, normalized params, key) of the subscription a
    subscribe or unsubscribe frame names; a ProtocolError naming the
    stream when it names none."""
    stream = registry.get(frame.stream)
    raw = {} if frame.params is None else frame.params
    if not isinstance(raw, dict):
        raise errors.InvalidParams("params must be an object", stream=stream.name)
    try:
        normalized = stream.parse_params(raw)
    except errors.ProtocolError as exc:
        exc.stream = stream.name
        raise
    return stream, raw, normalized, (stream.name, json.dumps(normalized, sort_keys=True))


def group_of(stream, normalized):
    return groups.stream_group(stream.name, stream.scope(normalized))


class Subscriptions:
    def __init__(self, limit):
        self.limit = limit
        self._by_key = {}
        self._by_group = {}

    def get(self, key):
        return self._by_key.get(key)

    def in_group(self, group):
        return self._by_group.get(group)

    def check_room(self):
        if len(self._by_key) >= self.limit:
            raise errors.LimitExceeded(
                f"this connection already holds {self.limit} subscriptions, the most "
                "it may; unsubscribe from one first"
            )

    def add(self, key, sub):
        self._by_key[key] = self._by_group[sub.group] = sub
        metrics.SUBSCRIPTIONS.labels(sub.stream.name).inc()
        return sub

    def remove(self, key):
        sub = self._by_key.pop(key, None)
        if sub is not None:
            self._by_group.pop(sub.group, None)
            metrics.SUBSCRIPTIONS.labels(sub.stream.name).dec()
        return sub

    def remove_all(self):
        """Called when the socket is gone; returns the groups to leave."""
        return [self.remove(key).group for key in list(self._by_key)]

    def held(self):
        """{key: (stream, normalized params)}, what the authority check needs."""
        return {key: (sub.stream, sub.normalized) for key, sub in self._by_key.items()}
