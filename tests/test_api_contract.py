"""The REST side's OpenAPI document held to the server by a tool nobody
here wrote: schemathesis generates requests from /api/schema/, valid and
invalid, sends them, and checks every answer against the document with its
usual checks (no 5xx, documented status codes and bodies, valid requests
accepted and invalid ones refused). Bounded and derandomized, so it costs
seconds and fails the same way twice."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from tests.logs.throttle_support import fresh_throttling

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def unthrottled(settings):
    """429 is documented, but would stop the run from testing anything."""
    fresh_throttling(settings)


# transaction=True: the WSGI handler closes the connection after each
# request, as a server does.
@pytest.mark.django_db(transaction=True)
@schema.include(path="/api/logs/").parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_log_endpoint_answers_as_its_openapi_document_says(case):
    case.call_and_validate()
