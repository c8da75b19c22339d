from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from trading.management.base import TradingCommand
from trading.models import TradingSession


class Command(TradingCommand):
    help = "Create a trading session owned by a user."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="username of the owner")

    def run(self, name, owner, **options):
        try:
            user = get_user_model().objects.get(username=owner)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {owner!r}") from None
        if not name.strip():
            raise CommandError("the session name must not be empty")
        session = TradingSession.objects.create(name=name.strip(), owner=user)
        return session_data(session)

    def describe(self, data):
        return f"session {data['id']}: {data['name']} (owner {data['owner']}, {data['status']})"


def session_data(session):
    return {
        "id": str(session.pk),
        "name": session.name,
        "owner": session.owner.get_username(),
        "status": session.status,
    }
