"""Changes that may take a connection's authority away, announced to its
sockets (streams.connection.access): a logout closes that browser's sockets at once;
a change to a user or a deletion of a token makes the user's sockets check
their credentials and subscriptions again."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from streams.publishing.controls import recheck_user, sign_out


@receiver(user_logged_out, dispatch_uid="streams.close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        sign_out(session_key)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="streams.recheck_saved_user")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="streams.recheck_deleted_user")
def recheck_changed_user(sender, instance, **kwargs):
    if not kwargs.get("raw"):
        recheck_user(instance.pk)


@receiver(post_delete, sender="authtoken.Token", dispatch_uid="streams.recheck_deleted_token")
def recheck_token_owner(sender, instance, **kwargs):
    recheck_user(instance.user_id)
