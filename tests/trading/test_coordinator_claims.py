"""One coordinator per trading session (trading/coordinator/claims.py): a
second coordinator of a session is refused, or, when it runs every session,
leaves that one to the first. On PostgreSQL (CI) the claims are advisory
locks, on SQLite file locks; both are held by another connection or open
file of this very process here, as another process would hold them."""

import pytest

from tests.support import processes
from trading.coordinator import Coordinator
from trading.coordinator.claims import session_claims
from trading.market.feeds.sim import SimulatedFeed
from trading.models import StrategyInstance, TradingSession

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held():
    """Claims of a coordinator that is already running (another process)."""
    claims = session_claims()
    yield claims
    claims.release()


def test_a_claim_held_elsewhere_cannot_be_taken_until_it_is_released(held, trading_session):
    assert held.claim([trading_session.pk]) == {trading_session.pk}
    second = session_claims()
    try:
        assert second.claim([trading_session.pk]) == set()
        assert second.holder(trading_session.pk)
        held.release()
        assert second.claim([trading_session.pk]) == {trading_session.pk}
    finally:
        second.release()


def test_a_second_coordinator_of_a_session_is_refused_and_touches_nothing(held, trading_session):
    instance = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="SOLUSDT"
    )
    held.claim([trading_session.pk])
    result = processes.manage(
        "run_coordinator", "--session", trading_session.pk, "--speed", 0, "--ticks", 40
    )
    assert result.returncode != 0
    assert f"session(s) {trading_session.pk} (held by" in result.stderr
    assert "already have a running coordinator" in result.stderr
    assert "Traceback" not in result.stderr
    instance.refresh_from_db()
    assert instance.version == 1


def test_a_coordinator_of_every_session_leaves_a_held_one_to_its_holder(
    held, trading_session, other_session, caplog
):
    mine = StrategyInstance.objects.create(
        session=trading_session, strategy="pump", symbol="SOLUSDT"
    )
    theirs = StrategyInstance.objects.create(
        session=other_session, strategy="pump", symbol="SOLUSDT"
    )
    held.claim([other_session.pk])
    coordinator = Coordinator(SimulatedFeed(["SOLUSDT"], seed=3), speed=0)
    coordinator.run(ticks=80)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.version > 1, "the free session was run"
    assert theirs.version == 1, "the held one was neither run nor settled"
    assert f"session {other_session.pk} is run by another coordinator" in caplog.text
    assert TradingSession.objects.count() == 2
