"""logs.E001: an unreadable throttle rate stops start-up, not a request."""

import pytest

from logs.checks import throttle_rates
from tests.logs.throttle_support import set_rates


def test_readable_rates_pass():
    assert throttle_rates(None) == []


@pytest.mark.parametrize("rate", ["fast", "10/fortnight", "ten/min", "10/"])
def test_an_unreadable_rate_is_an_error(settings, rate):
    set_rates(settings, anon=rate, user="10/min")

    (error,) = throttle_rates(None)
    assert error.id == "logs.E001"
    assert "logs_anon" in error.msg


def test_a_missing_rate_is_an_error(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}

    assert [error.id for error in throttle_rates(None)] == ["logs.E001", "logs.E001"]
