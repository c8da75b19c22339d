"""What a strategy instance looks like on the wire (PROTOCOL.md).

Ids are strings on the wire, as PROTOCOL.md writes them; the snapshot builds
payloads from `values()` rows so a 10,000-instance `full_update` does not
build 10,000 model objects.
"""

from config.timestamps import iso

FIELDS = (
    "id",
    "session_id",
    "strategy",
    "symbol",
    "state",
    "previous_state",
    "version",
    "updated_at",
    "state_changed_at",
    "reason",
    "actor",
)


def from_row(row):
    """`changed_at` is `state_changed_at` under the name the desk's REST API
    and history use: the time of the move that `reason` and `actor` tell."""
    changed_at = iso(row["state_changed_at"])
    return {
        "id": str(row["id"]),
        "session_id": str(row["session_id"]),
        "strategy": row["strategy"],
        "symbol": row["symbol"],
        "state": row["state"],
        "previous_state": row["previous_state"] or None,
        "version": row["version"],
        "updated_at": iso(row["updated_at"]),
        "state_changed_at": changed_at,
        "reason": row["reason"],
        "actor": row["actor"],
        "changed_at": changed_at,
    }


def instance(obj):
    return from_row({name: getattr(obj, name) for name in FIELDS})


def removed(obj):
    return {
        "id": str(obj.pk),
        "session_id": str(obj.session_id),
        "version": obj.version,
        "state": obj.state,
    }


def deleted(obj):
    """The `instance_removed` of a deleted row: a delete is a change too, so
    it takes the next version, and a client that ignores anything not above
    the highest version seen still drops the row. The row is gone: no later
    write can take that version."""
    return dict(removed(obj), version=obj.version + 1)


def moved_out(obj, old_session_id):
    """The old session's `instance_removed` of a move between sessions: it
    carries the first of the two versions the move took
    (querysets.SESSION_MOVE_VERSIONS), the new session's `instance_added`
    the second."""
    return dict(removed(obj), session_id=str(old_session_id), version=obj.version - 1)
