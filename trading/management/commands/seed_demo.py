"""`manage.py seed_demo`: a demo user, token, session and instances.

The token is written to a 0600 file under var/ and never printed: a console
is often shared (a recorded terminal, CI output, a screen), and a printed
command line with the token would put it in `ps` and the shell's history
once run. What is printed is how to use the file.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from config.private_files import write_private
from trading import actors
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
        "Creates (once) a demo user with a printed password, an API token (in a "
        "0600 file, var/USERNAME.token by default), a trading session and a "
        "handful of pump instances on several symbols. "
        "Running it again changes nothing unless --reset-password is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo", help="demo user name (default: demo)")
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="give an existing demo user a new password (printed)",
        )
        parser.add_argument(
            "--token-file",
            type=Path,
            default=None,
            help="where to write the user's API token (default: var/USERNAME.token)",
        )

    def run(self, username="demo", reset_password=False, token_file=None, **options):
        """Returns what exists now: user, password (None when unchanged),
        the file holding the token, session id, and the ids of the instances
        this call created."""
        with transaction.atomic(), actors.acting_as(actors.system("seed_demo")):
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
        token_file = token_file or settings.VAR_DIR / f"{user.username}.token"
        write_private(token_file, token.key + "\n")
        return {
            "username": user.username,
            "password": password,
            "token_file": str(token_file),
            "session_id": session.pk,
            "instances": session.instances.count(),
            "added": [instance.pk for instance in added],
        }

    def describe(self, result):
        password = result["password"] or "(unchanged; --reset-password prints a new one)"
        session_id, token_file = result["session_id"], result["token_file"]
        return "\n".join(
            (
                f"user:     {result['username']}",
                f"password: {password}",
                f"token:    in {token_file} (readable by you only)",
                f"session:  {session_id} ({SESSION_NAME}), {result['instances']} instances, "
                f"{len(result['added'])} new",
                f'watch it: STREAMS_TOKEN="$(cat {token_file})" python manage.py tail_stream '
                f"state_machines --param session_id={session_id}",
            )
        )
