"""The mining endpoints are in the OpenAPI schema, with string amounts and the Idempotency-Key."""

from django.urls import reverse


def test_the_schema_documents_the_mining_endpoints(auditor_session):
    schema = auditor_session.get(reverse("schema"), {"format": "json"}).json()

    paths = schema["paths"]
    assert {
        "/api/v1/mining/sites/",
        "/api/v1/mining/sites/{site}/",
        "/api/v1/mining/sites/{site}/days/",
        "/api/v1/mining/sites/{site}/days/bulk/",
        "/api/v1/mining/reports/",
        "/api/v1/mining/reports/{id}/",
        "/api/v1/mining/reports/{id}/verification/",
    } <= set(paths)
    submit = paths["/api/v1/mining/sites/{site}/days/"]["post"]
    assert {"200", "201", "400", "409"} <= set(submit["responses"])
    key = next(p for p in submit["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    line = schema["components"]["schemas"]["DailyLineOutput"]["properties"]
    assert line["btc_gross_btc"]["type"] == "string"
    assert line["btc_gross"]["type"] == "integer"
    assert (
        schema["components"]["schemas"]["FiguresOutput"]["properties"]["deviation_percent"]["type"]
        == "string"
    )
