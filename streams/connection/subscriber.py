"""What one connection does to subscribe (PROTOCOL.md): authorize, join
the scope's group, reply, then bring the client up to date from the
scope's history (`since`) or a shared snapshot, and from then on hand it
the scope's events.

The group is joined before the position is read, and events that arrive
meanwhile wait in the subscription's buffer, so nothing falls between the
client's catch-up and its live events, and nothing is sent twice (the
subscription's floor).
"""

from streams.connection.subscriptions import Subscription, group_of, lookup
from streams.infra import metrics, sequence
from streams.infra.db import in_pool
from streams.wire import errors
from streams.wire import protocol as proto


class Subscriber:
    def __init__(self, member, subs):
        self.member = member  # the consumer: what the hub delivers to
        self.subs = subs

    @property
    def hub(self):
        return self.member.hub

    @property
    def transport(self):
        return self.member.transport

    def deliver(self, group, message):
        """Called for each event of a group the connection is in; None, or
        what the hub must await (Transport.send_event)."""
        sub = self.subs.in_group(group)
        if sub is None:
            return None
        if sub.pending:
            sub.buffer.append(message)
            return None
        if sub.covers(message):
            return None
        return self.member.transport.send_event(message)

    async def subscribe(self, frame, user):
        stream, raw, normalized, key = lookup(frame)
        if not self.hub.layer_ok:
            raise errors.Unavailable(
                "events cannot reach this server right now; retry", stream=stream.name
            )
        try:
            await in_pool(stream.authorize)(user, normalized)
        except (errors.Forbidden, errors.InvalidParams) as exc:
            exc.stream = stream.name
            # A right lost since an earlier subscribe ends that one too.
            await self.end(key, reason="forbidden")
            raise
        sub = self.subs.get(key)
        if sub is None:
            self.subs.check_room()
            sub = Subscription(stream, raw, normalized, group_of(stream, normalized))
            # Joined first: if joining fails, nothing is recorded and a
            # retried subscribe joins again.
            await self.hub.join(sub.group, self.member)
            self.subs.add(key, sub)
        else:
            sub.params, sub.pending, sub.buffer, sub.floor = raw, True, [], None
        try:
            if frame.since is not None and await self._resume(sub, frame):
                return
            await self.member.send_json(
                proto.message(
                    "subscribed",
                    stream.name,
                    {} if frame.since is None else {"recovered": False},
                    params=raw,
                    request_id=frame.request_id,
                    session_id=sub.session_id,
                )
            )
            if stream.snapshot is not None:
                await self._send_snapshot(sub, frame.request_id)
        finally:
            sub.pending, sub.buffer = False, []

    async def _resume(self, sub, frame):
        """Replays what the client missed since `frame.since` from the
        scope's history, if it holds all of it; False when it does not (the
        caller sends a snapshot). The group was joined first, so events
        past the history's end are in `sub.buffer`."""
        epoch, seq, missed = await sequence.store().since(sub.group, *frame.since)
        metrics.RESYNCS.labels("snapshot" if missed is None else "recovered").inc()
        if missed is None:
            return False
        await self.member.send_json(
            proto.message(
                "subscribed",
                sub.stream.name,
                {"recovered": True},
                params=sub.params,
                request_id=frame.request_id,
                session_id=sub.session_id,
            )
        )
        for text in missed:
            await self.transport.send(text)
        await self._send_held(sub, epoch, seq)
        return True

    async def _send_snapshot(self, sub, request_id):
        """Called right after joining the group: the seq is read before the
        snapshot and events that arrive meanwhile are held back, so the
        client never sees an event older than its snapshot after it."""
        epoch, seq = await sequence.store().current(sub.group)
        data = await self.hub.snapshots.data(sub.stream, sub.normalized, sub.group, epoch, seq)
        envelope = proto.message(
            "full_update",
            sub.stream.name,
            request_id=request_id,
            session_id=sub.session_id,
            seq=seq,
            epoch=epoch,
        )
        await self.transport.send(proto.encode_with_data(envelope, data))
        await self._send_held(sub, epoch, seq)

    async def _send_held(self, sub, epoch, seq):
        """Sends the events held while the client was brought to (epoch,
        seq), those past it only, and keeps later copies of the rest out."""
        sub.floor = (epoch, seq)
        for held in sub.buffer:
            if not sub.covers(held):
                pending = self.transport.send_event(held)
                if pending is not None:
                    await pending

    async def unsubscribe(self, frame):
        stream, raw, normalized, key = lookup(frame)
        sub = self.subs.remove(key)
        if sub is not None:
            await self.hub.leave(sub.group, self.member)
        await self.member.send_json(
            proto.message(
                "unsubscribed",
                stream.name,
                {},
                params=raw,
                request_id=frame.request_id,
                session_id=stream.session_of(normalized),
            )
        )

    async def end(self, key, reason):
        """Ends a subscription the server takes away, telling the client."""
        sub = self.subs.remove(key)
        if sub is None:
            return
        await self.hub.leave(sub.group, self.member)
        await self.member.send_json(
            proto.message(
                "unsubscribed",
                sub.stream.name,
                {"reason": reason},
                params=sub.params,
                session_id=sub.session_id,
            )
        )
