"""`manage.py seed_demo`: a demo user, token, session and instances."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from trading.management.base import TradingCommand
from trading.models import StrategyInstance, TradingSession

SESSION_NAME = "Demo session"
INSTANCES = (
    ("pump", "BTCUSDT"),
    ("pump", "ETHUSDT"),
    ("pump", "SOLUSDT"),
    ("pump", "DOGEUSDT"),
    ("pump", "PEPEUSDT"),
)


class Command(TradingCommand):
    help = (
        "Creates (once) a demo user with a printed password, an API token, a "
        "trading session and a handful of pump instances on several symbols. "
        "Running it again changes nothing unless --reset-password is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo", help="demo user name (default: demo)")
        parser.add_argument(
            "--reset-password", action="store_true",
            help="give an existing demo user a new password (printed)",
        )

    def run(self, username="demo", reset_password=False, **options):
        """Returns what exists now: user, password (None when unchanged),
        token, session id, and the ids of the instances this call created."""
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username)
            password = None
            if created or reset_password:
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save()
            token = Token.objects.get_or_create(user=user)[0]
            session = TradingSession.objects.get_or_create(owner=user, name=SESSION_NAME)[0]
            added = []
            for strategy, symbol in INSTANCES:
                instance, made = StrategyInstance.objects.get_or_create(
                    session=session, strategy=strategy, symbol=symbol
                )
                if made:
                    added.append(instance)
        return {
            "username": user.username,
            "password": password,
            "token": token.key,
            "session_id": session.pk,
            "instances": session.instances.count(),
            "added": [instance.pk for instance in added],
        }

    def describe(self, result):
        password = result["password"] or "(unchanged; --reset-password prints a new one)"
        session_id, token = result["session_id"], result["token"]
        return "\n".join((
            f"user:     {result['username']}",
            f"password: {password}",
            f"token:    {token}",
            f"session:  {session_id} ({SESSION_NAME}), {result['instances']} instances, "
            f"{len(result['added'])} new",
            "watch it: python manage.py tail_stream state_machines "
            f"--param session_id={session_id} --token {token}",
        ))
