"""The one place that names Channels groups.

Group names travel through the channel layer and Redis, which accept only
`^[a-zA-Z\\d\\-_.]+$` under 100 characters; every name is built and checked
here so a bad one fails loudly at its source rather than inside the layer.
"""

import hashlib
import re

_VALID = re.compile(r"^[a-zA-Z\d\-_.]+$")


def _checked(name):
    if len(name) >= 100 or not _VALID.match(name):
        raise ValueError(f"invalid group name {name!r}")
    return name


def stream_group(stream_name, scope):
    """The group of one scope of a stream: every event of that scope is
    sent to it, and its seq counter carries the same name."""
    return _checked(f"st.{stream_name}.{scope}")


def login_group(session_key):
    """The sockets of one Django login session, told to close at logout.
    Hashed: the session key is a credential and group names are visible
    to anyone who can read the layer's Redis."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"auth.session.{digest}"


def user_group(user_id):
    """The sockets of one user, told to re-check their authority when a
    change to the user, a token or an ownership may have taken it away."""
    return _checked(f"auth.user.{int(user_id)}")
