"""Closes a browser's sockets when its Django session logs out."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from streams.consumer import session_group
from streams.protocol import CLOSE_UNAUTHENTICATED
from streams.publish import publish_control


@receiver(user_logged_out, dispatch_uid="streams.close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        publish_control(
            session_group(session_key),
            action="close",
            code=CLOSE_UNAUTHENTICATED,
            code_name="unauthenticated",
            reason="signed out",
        )
