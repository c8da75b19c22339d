"""Puts each scope's frames back in `seq` order on their way into a process.

Two processes publishing to one scope number their events in one order but
may reach this process in the other. A frame that comes early waits (up to
the hub's window) for the ones before it, so a race between publishers
does not cost every subscriber a resync. What is still missing when the
wait is over is a real loss: counted, and left to the clients' gap rule.

No clock and no event loop here: the hub asks `accept` for what is ready
now and calls `give_up` when a scope's window closes, so the rules are
tested as plain functions.
"""


class ReorderBuffer:
    def __init__(self):
        self._last = {}  # scope -> (epoch, seq) last handed on
        self._held = {}  # scope -> {seq: message} that came early

    def accept(self, message):
        """The frames to hand on now, in order, `message` among them or
        held back. A frame of a new epoch releases what was held first."""
        group, epoch, seq = message["group"], message["epoch"], message["seq"]
        last = self._last.get(group)
        if last is None or last[0] != epoch:
            released, _ = self.give_up(group)
            self._last[group] = (epoch, seq)
            return [*released, message]
        if seq <= last[1]:
            return [message]  # late: clients have resynced past it
        held = self._held.setdefault(group, {})
        held[seq] = message
        ready = []
        while last[1] + 1 in held:
            ready.append(held.pop(last[1] + 1))
            last = (epoch, last[1] + 1)
        self._last[group] = last
        if not held:
            del self._held[group]
        return ready

    def waiting(self, group):
        """Whether frames of `group` wait for earlier ones."""
        return group in self._held

    def give_up(self, group):
        """Called when a scope's wait is over: (the held frames in order,
        how many seqs never came)."""
        held = self._held.pop(group, {})
        last = self._last.get(group)
        released, missed = [], 0
        for seq in sorted(held):
            if last is not None and seq > last[1] + 1:
                missed += seq - last[1] - 1
            last = (held[seq]["epoch"], seq)
            released.append(held[seq])
        if last is not None:
            self._last[group] = last
        return released, missed

    def forget(self, group):
        """The process no longer listens to `group`."""
        self._held.pop(group, None)
        self._last.pop(group, None)
