"""The REST side described in OpenAPI 3 (/api/schema/) and readable at
/api/docs/, without a CDN."""

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3_and_describes_the_log_endpoint(client):
    reply = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert reply.status_code == 200
    schema = reply.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    post = schema["paths"]["/api/logs/"]["post"]
    assert {"202", "400", "413", "415", "429"} <= set(post["responses"])
    assert post["requestBody"]["required"] is True
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema["components"]["schemas"][body.rsplit("/", 1)[1]]["oneOf"] == [
        {"$ref": "#/components/schemas/FrontendLogEntry"},
        {"$ref": "#/components/schemas/FrontendLogBatch"},
    ]


def test_the_docs_page_loads_redoc_from_this_server(client):
    reply = client.get("/api/docs/")

    assert reply.status_code == 200
    page = reply.content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/" in page
    assert "cdn" not in page.lower()
