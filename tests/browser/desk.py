"""The trading desk a browser test logs in to: a user with a password, their
session and a pump instance per simulated symbol, made through the ORM in
the test process (see conftest.py for why that is allowed here)."""

from functools import cache
from types import SimpleNamespace

USERNAME = "trader"
PASSWORD = "pw-trader-browser-1"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "PEPEUSDT")


@cache
def password_hash():
    """Hashed with the server's hasher (the test settings hash with MD5,
    which daphne does not accept), once per run: it costs ~0.5 s."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    return hasher.encode(PASSWORD, hasher.salt())


def make_desk():
    """Returns the user, session and `instances` (symbol -> instance)."""
    from django.contrib.auth import get_user_model

    from trading.models import StrategyInstance, TradingSession

    user = get_user_model().objects.create(username=USERNAME, password=password_hash())
    session = TradingSession.objects.create(name="Browser desk", owner=user)
    instances = {
        symbol: StrategyInstance.objects.create(session=session, strategy="pump", symbol=symbol)
        for symbol in SYMBOLS
    }
    return SimpleNamespace(
        user=user, session=session, instances=instances, username=USERNAME, password=PASSWORD
    )


def live_states(session):
    """{instance id: state} of the session's live instances, read now."""
    from trading.models import StrategyInstance

    rows = StrategyInstance.objects.filter(session=session).exclude(state="stopped")
    return {str(pk): state for pk, state in rows.values_list("pk", "state")}
