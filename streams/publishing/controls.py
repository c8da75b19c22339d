"""Connection-level instructions to the sockets of a group, in every
process: no seq, no history, nothing a client resyncs from.

Sent by the changes that may take a connection's authority away
(streams/receivers.py, and apps' own receivers through `recheck_user`);
the sockets act on them in streams/connection (consumer, access).
"""

from functools import partial

from django.db import transaction

from streams.infra.layer import CLOSE, RECHECK
from streams.publishing.publish import Control, publisher
from streams.wire import groups


def publish_control(group, **payload):
    publisher().submit(Control(group, payload))


def publish_control_on_commit(group, *, using=None, **payload):
    transaction.on_commit(partial(publish_control, group, **payload), using=using)


def recheck_user(user_id, *, using=None):
    """Tells every socket of a user, in every process, to check its
    authority again once the current transaction commits: call it from the
    signal handlers of changes that may take authority away."""
    publish_control_on_commit(groups.user_group(user_id), using=using, action=RECHECK)


def sign_out(session_key):
    """Closes at once the sockets opened with this Django login session."""
    publish_control(groups.login_group(session_key), action=CLOSE, reason="signed out")
