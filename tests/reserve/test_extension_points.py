"""A request kind from another app plugs into reserve with no edit to reserve: registered the way
an app's ``ready()`` registers it (kind, default policy), it gets the generic REST create
endpoint (idempotency, errors), the "new request" screen, the inbox and the request page."""

from __future__ import annotations

import pytest
from django import forms
from rest_framework import serializers

from reserve.approvals.policies import (
    _DEFAULTS,
    DefaultPolicy,
    install_default_policies,
    register_default_policy,
)
from reserve.approvals.registry import _KINDS, MatchFacts, RequestKind, register_kind
from reserve.models import ApprovalRequest, AuditEvent, Scope
from reserve.workflow.forms import RequestForm
from tests.support.api import bearer, client_with_token, new_key

pytestmark = pytest.mark.django_db

NAME = "tests.reserve.test_extension_points"


class SiteNoteSerializer(serializers.Serializer):
    site = serializers.CharField(max_length=40)
    megawatts = serializers.IntegerField(min_value=1, max_value=2000)


class SiteNoteForm(RequestForm):
    site = forms.CharField(max_length=40)
    megawatts = forms.IntegerField(min_value=1, max_value=2000)


class SiteNoteKind(RequestKind):
    """A kind no reserve module knows: what a mining app would register."""

    code = "probe.site_note"
    label = "Site note"
    slug = "site-notes"
    api_serializer = f"{NAME}.SiteNoteSerializer"
    form_class = f"{NAME}.SiteNoteForm"

    def clean_payload(self, payload):
        from django.core.exceptions import ValidationError

        if not str(payload.get("site", "")).strip():
            raise ValidationError({"site": ["Name the site."]})
        return {"site": str(payload["site"]).strip(), "megawatts": int(payload["megawatts"])}

    def title(self, action):
        return f"Site note for {action['site']}"

    def match_facts(self, action):
        return MatchFacts()

    def execute(self, *, request, action, actor):
        AuditEvent.objects.create(action="probe.site_note.executed", data=action)
        return {"noted": action["site"]}


@pytest.fixture
def other_app(team):
    """What the other app's ``ready()`` does, then the migrate that installs its default policy."""
    register_kind(SiteNoteKind())
    default = register_default_policy(
        DefaultPolicy(
            65, "Site notes", "probe.site_note", (("Board member", 1),), requires_second_factor=False
        )
    )
    install_default_policies(initial=False)
    yield
    _KINDS.pop(SiteNoteKind.code, None)
    _DEFAULTS.pop(default.name, None)


def test_the_kind_gets_a_rest_create_endpoint_with_idempotency_and_field_errors(other_app, team):
    _client, secret = client_with_token(
        "mining-desk", [Scope.REQUESTS_READ, Scope.REQUESTS_WRITE], user=team.maker
    )
    api = bearer(secret)
    key = new_key()
    made = api.post(
        "/api/v1/requests/site-notes/",
        {"site": "Ekibastuz", "megawatts": 50},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert made.status_code == 201, made.json()
    assert made.json()["kind"] == "probe.site_note"
    again = api.post(
        "/api/v1/requests/site-notes/",
        {"site": "Ekibastuz", "megawatts": 50},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert again.status_code == 201 and again.json()["id"] == made.json()["id"]
    assert ApprovalRequest.objects.filter(kind="probe.site_note").count() == 1
    bad = api.post(
        "/api/v1/requests/site-notes/",
        {"site": "X", "megawatts": 0},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert bad.status_code == 400 and "megawatts" in bad.json()["errors"], bad.json()
    unknown = api.post("/api/v1/requests/no-such-kind/", {}, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert unknown.status_code == 404


def test_the_kind_gets_a_new_request_screen_an_inbox_entry_and_a_request_page(
    client, other_app, team, approve
):
    client.force_login(team.maker)
    page = client.get("/workflow/requests/new/site-notes/")
    assert page.status_code == 200 and b'name="megawatts"' in page.content
    submission = page.context["form"].initial["submission"]
    made = client.post(
        "/workflow/requests/new/site-notes/",
        {"site": "Ekibastuz", "megawatts": "50", "submission": submission},
    )
    request = ApprovalRequest.objects.get(kind="probe.site_note")
    assert made.status_code == 302 and made.url == f"/workflow/requests/{request.pk}/"
    assert request.policy.name == "Site notes"

    client.force_login(team.board1)
    inbox = client.get("/workflow/")
    assert request.title.encode() in inbox.content
    assert client.get(f"/workflow/requests/{request.pk}/").status_code == 200
    approve(request, team.board1)
    request.refresh_from_db()
    assert request.status == "executed" and request.result == {"noted": "Ekibastuz"}
