"""Integration clients: tokens (issue, rotate, revoke, expiry), 401 and 403 answers, the call
log, the ``issue_api_token`` command and the admin screens."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

import reserve.admin.api_clients  # noqa: F401  (the admin screens under test)
from reserve.api.clients import (
    create_client,
    hash_token,
    issue_token,
    revoke_client,
    revoke_token,
    rotate_token,
    set_client_scopes,
)
from reserve.api.idempotency import claim_idempotency_key, purge_expired_idempotency_records
from reserve.models import (
    ApiCallLog,
    ApiClient,
    ApiToken,
    AuditEvent,
    IdempotencyRecord,
    ImmutableRowError,
    Scope,
)
from tests.support.api import ALL_SCOPES, assert_error_body, bearer, client_with_token
from tests.support.factories import UserFactory

ASSETS = "/api/v1/assets/"
REQUESTS = "/api/v1/requests/"


@pytest.fixture
def integration(db):
    return client_with_token("court-system", [Scope.HOLDINGS_READ])


def assert_unauthorized(response, code):
    assert response.status_code == 401
    assert_error_body(response.json(), code)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# Tokens


def test_a_new_client_acts_as_a_service_user_in_the_integration_group(db):
    client = create_client(name="court-system", scopes=[Scope.REQUESTS_WRITE, Scope.HOLDINGS_READ])

    assert client.user.username == "court-system@api"
    assert not client.user.has_usable_password()
    assert list(client.user.groups.values_list("name", flat=True)) == ["Integration client"]
    assert client.scopes == ["holdings:read", "requests:write"]
    assert AuditEvent.objects.filter(action="reserve.api_client.created").count() == 1


def test_a_client_can_act_as_an_existing_person_without_joining_the_integration_group(db):
    person = UserFactory(username="custody1", roles=["Custody officer"])

    client = create_client(name="custody1-desk", scopes=[Scope.REQUESTS_DECIDE], user=person, actor=person)

    assert client.user == person
    assert not person.groups.filter(name="Integration client").exists()


def test_unknown_scopes_are_refused(db):
    with pytest.raises(Exception, match="Unknown scopes: payments:write"):
        create_client(name="x", scopes=["payments:write"])


def test_a_token_is_stored_only_as_its_hash_and_a_prefix(integration):
    client, secret = integration
    token = ApiToken.objects.get(client=client)

    assert secret.startswith("sdaf_") and len(secret) > 40
    assert token.token_hash == hash_token(secret)
    assert token.prefix == secret[:12]
    assert not ApiToken.objects.filter(token_hash=secret).exists()
    assert bearer(secret).get(ASSETS).status_code == 200


def test_a_token_records_when_it_was_last_used(integration):
    client, secret = integration

    bearer(secret).get(ASSETS)

    assert ApiToken.objects.get(client=client).last_used_at is not None


def test_a_rotated_token_stops_working_and_its_replacement_works(integration):
    client, secret = integration
    old = ApiToken.objects.get(client=client)

    new = rotate_token(old)

    assert_unauthorized(bearer(secret).get(ASSETS), "token_revoked")
    assert bearer(new.secret).get(ASSETS).status_code == 200
    assert new.token.replaces == old


def test_a_revoked_token_is_refused_with_the_error_body(integration):
    client, secret = integration
    revoke_token(ApiToken.objects.get(client=client))

    response = bearer(secret).get(ASSETS)

    assert_unauthorized(response, "token_revoked")
    assert response.json()["message"] == "This API token was revoked."


def test_an_expired_token_is_refused(integration):
    client, secret = integration
    now = timezone.now()
    ApiToken.objects.filter(client=client).update(
        created_at=now - dt.timedelta(days=91), expires_at=now - dt.timedelta(seconds=1)
    )

    assert_unauthorized(bearer(secret).get(ASSETS), "token_expired")


def test_an_unknown_token_is_refused(db):
    assert_unauthorized(bearer("sdaf_not-a-token").get(ASSETS), "token_invalid")
    assert_unauthorized(bearer("something-else").get(ASSETS), "token_invalid")


def test_a_malformed_authorization_header_is_refused(db):
    response = APIClient().get(ASSETS, HTTP_AUTHORIZATION="Bearer two words")

    assert_unauthorized(response, "token_invalid")


def test_a_call_without_credentials_is_asked_for_a_bearer_token(db):
    assert_unauthorized(APIClient().get(ASSETS), "not_authenticated")


def test_a_revoked_client_loses_every_token(integration):
    client, secret = integration
    second = issue_token(client).secret

    revoke_client(client)

    assert_unauthorized(bearer(secret).get(ASSETS), "token_revoked")
    assert_unauthorized(bearer(second).get(ASSETS), "token_revoked")
    client.refresh_from_db()
    assert not client.is_active
    with pytest.raises(Exception, match="revoked"):
        issue_token(client)


def test_a_deactivated_service_user_stops_the_client(integration):
    client, secret = integration
    client.user.is_active = False
    client.user.save()

    assert_unauthorized(bearer(secret).get(ASSETS), "client_disabled")


def test_tokens_expire_within_a_year(integration):
    client, _secret = integration

    with pytest.raises(Exception, match="between"):
        issue_token(client, expires_in=dt.timedelta(days=400))


# Scopes


def test_a_call_outside_the_scopes_is_refused_with_the_missing_scope(integration):
    _client, secret = integration

    response = bearer(secret).get(REQUESTS)

    assert response.status_code == 403
    assert_error_body(response.json(), "permission_denied")
    assert "requests:read" in response.json()["message"]


def test_a_write_outside_the_scopes_names_the_write_scope(integration):
    _client, secret = integration

    response = bearer(secret).post(
        "/api/v1/requests/transfers/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert response.status_code == 403
    assert "requests:write" in response.json()["message"]


def test_changed_scopes_apply_at_the_next_call(integration):
    client, secret = integration

    set_client_scopes(client=client, scopes=[Scope.REQUESTS_READ])

    assert bearer(secret).get(ASSETS).status_code == 403
    assert bearer(secret).get(REQUESTS).status_code == 200
    assert AuditEvent.objects.filter(action="reserve.api_client.scopes_changed").exists()


def test_a_token_needs_no_model_permission_and_a_person_still_does(integration):
    _client, secret = integration
    person = UserFactory(username="nobody")
    session = APIClient()
    session.force_login(person)

    assert bearer(secret).get(ASSETS).status_code == 200
    assert session.get(ASSETS).status_code == 403


def test_people_signed_in_cannot_write_through_the_api(db):
    session = APIClient()
    session.force_authenticate(UserFactory(username="clerk", roles=["Intake clerk"]))

    response = session.post("/api/v1/requests/transfers/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 403
    assert "bearer token" in response.json()["message"]


# The call log


def test_every_call_with_a_token_is_logged(integration):
    client, secret = integration
    api = bearer(secret)

    api.get(ASSETS)
    api.get(REQUESTS)
    api.post("/api/v1/requests/transfers/", {}, format="json", HTTP_IDEMPOTENCY_KEY="key-7")

    calls = list(
        ApiCallLog.objects.order_by("id").values_list(
            "client__name", "method", "path", "status", "idempotency_key"
        )
    )
    assert calls == [
        ("court-system", "GET", ASSETS, 200, ""),
        ("court-system", "GET", REQUESTS, 403, ""),
        ("court-system", "POST", "/api/v1/requests/transfers/", 403, ""),
    ]
    assert all(row.token_prefix == secret[:12] and row.duration_ms >= 0 for row in ApiCallLog.objects.all())


def test_refused_tokens_are_logged_with_their_client(integration):
    client, secret = integration
    revoke_token(ApiToken.objects.get(client=client))

    bearer(secret).get(ASSETS)
    bearer("sdaf_guessing").get(ASSETS)

    assert list(ApiCallLog.objects.order_by("id").values_list("client__name", "token_prefix", "status")) == [
        ("court-system", secret[:12], 401),
        (None, "sdaf_guessin", 401),
    ]


def test_session_calls_are_not_in_the_client_log(auditor):
    session = APIClient()
    session.force_authenticate(auditor)

    session.get(ASSETS)

    assert not ApiCallLog.objects.exists()


def test_the_call_log_is_append_only(integration):
    _client, secret = integration
    bearer(secret).get(ASSETS)
    row = ApiCallLog.objects.get()

    with pytest.raises(ImmutableRowError):
        row.save()
    with pytest.raises(ImmutableRowError):
        ApiCallLog.objects.all().delete()


def test_every_api_view_writes_the_call_log():
    from django.urls import get_resolver

    from reserve.api.base import ApiEndpoint

    resolver = get_resolver()
    api_patterns = [p for p in resolver.url_patterns if str(p.pattern) == "api/v1/"][0]
    views = [
        pattern.callback.view_class for pattern in api_patterns.url_patterns if pattern.name != "not-found"
    ]

    assert views and all(issubclass(view, ApiEndpoint) for view in views)


# Stored replies


def test_expired_idempotency_records_are_purged(integration):
    client, _secret = integration
    now = timezone.now()
    for key, age in (("old", dt.timedelta(hours=25)), ("new", dt.timedelta(hours=1))):
        claim_idempotency_key(
            user=client.user, client=client, key=key, method="POST", path="/x", fingerprint="f", now=now - age
        )

    assert purge_expired_idempotency_records(now) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


# The command


def run_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_makes_the_client_and_prints_a_working_token(db):
    out, err = run_command("demo-integration", "--scopes", "all", "--days", "7")

    token = out.strip().splitlines()[-1]
    client = ApiClient.objects.get(name="demo-integration")
    assert out.strip() == token
    assert client.scopes == ALL_SCOPES
    assert client.user.groups.filter(name="Integration client").exists()
    assert "demo-integration" in err
    assert bearer(token).get(ASSETS).status_code == 200
    expires = ApiToken.objects.get(client=client).expires_at
    assert dt.timedelta(days=6, hours=23) < expires - timezone.now() <= dt.timedelta(days=7)


def test_the_command_issues_another_token_for_an_existing_client(integration):
    client, first = integration

    out, _err = run_command("court-system")

    assert out.strip() != first
    assert ApiToken.objects.filter(client=client, revoked_at__isnull=True).count() == 2
    assert ApiClient.objects.get(pk=client.pk).scopes == [Scope.HOLDINGS_READ]


def test_the_command_replaces_the_scopes_when_given(integration):
    client, _secret = integration

    run_command("court-system", "--scopes", "requests:read")

    client.refresh_from_db()
    assert client.scopes == ["requests:read"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("newcomer",), "give --scopes"),
        (("newcomer", "--scopes", "payments:write"), "Unknown scopes"),
        (("newcomer", "--scopes", "all", "--days", "0"), "--days"),
        (("newcomer", "--scopes", "all", "--user", "ghost"), "No user"),
    ],
)
def test_the_command_refuses_with_a_reason(db, args, message):
    with pytest.raises(CommandError, match=message):
        run_command(*args)
    assert not ApiClient.objects.exists()


# The admin


@pytest.fixture
def admin_client(client, db):
    root = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(root)
    return client


def admin_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_admin_adds_a_client_with_its_scopes(admin_client):
    response = admin_client.post(
        reverse("admin:reserve_apiclient_add"),
        {"name": "mining-site-7", "description": "Ekibastuz", "scopes": ["mining:write", "holdings:read"]},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    client = ApiClient.objects.get(name="mining-site-7")
    assert client.scopes == ["holdings:read", "mining:write"]
    assert client.user.username == "mining-site-7@api"
    assert client.created_by.username == "admin"


def test_an_admin_issues_a_token_shown_once(admin_client, integration):
    client, _secret = integration

    response = admin_client.post(
        reverse("admin:reserve_apiclient_changelist"),
        {"action": "issue_token_action", "_selected_action": [client.pk]},
    )

    (message,) = admin_messages(response)
    secret = message.split("<code>")[1].split("</code>")[0]
    assert "shown only this once" in message
    assert bearer(secret).get(ASSETS).status_code == 200
    change_page = reverse("admin:reserve_apiclient_change", args=[client.pk])
    assert secret in admin_client.get(change_page).content.decode()  # the message, once
    page = admin_client.get(change_page).content.decode()
    assert secret not in page
    assert secret[:12] in page


def test_an_admin_rotates_and_revokes_tokens(admin_client, integration):
    client, secret = integration
    token = ApiToken.objects.get(client=client)

    admin_client.post(
        reverse("admin:reserve_apitoken_changelist"),
        {"action": "rotate_token_action", "_selected_action": [token.pk]},
    )
    replacement = ApiToken.objects.get(client=client, revoked_at__isnull=True)
    admin_client.post(
        reverse("admin:reserve_apitoken_changelist"),
        {"action": "revoke_token_action", "_selected_action": [replacement.pk]},
    )

    assert_unauthorized(bearer(secret).get(ASSETS), "token_revoked")
    assert not ApiToken.objects.filter(client=client, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="reserve.api_token.rotated").count() == 1
    assert AuditEvent.objects.filter(action="reserve.api_token.revoked").count() == 1


def test_an_admin_revokes_a_client(admin_client, integration):
    client, secret = integration

    admin_client.post(
        reverse("admin:reserve_apiclient_changelist"),
        {"action": "revoke_client_action", "_selected_action": [client.pk]},
    )

    assert_unauthorized(bearer(secret).get(ASSETS), "token_revoked")
    assert ApiClient.objects.get(pk=client.pk).revoked_by.username == "admin"


@pytest.mark.parametrize("model", ["apiclient", "apitoken", "apicalllog", "idempotencyrecord"])
def test_the_api_client_pages_open(admin_client, integration, model):
    _client, secret = integration
    bearer(secret).post("/api/v1/requests/transfers/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    claim_idempotency_key(
        user=_client.user, client=_client, key="k2", method="POST", path="/x", fingerprint="f"
    )
    model_class = {
        "apiclient": ApiClient,
        "apitoken": ApiToken,
        "apicalllog": ApiCallLog,
        "idempotencyrecord": IdempotencyRecord,
    }[model]

    changelist = admin_client.get(reverse(f"admin:reserve_{model}_changelist"))
    detail = admin_client.get(reverse(f"admin:reserve_{model}_change", args=[model_class.objects.first().pk]))

    assert changelist.status_code == 200
    assert detail.status_code == 200


def test_nobody_edits_the_call_log_or_tokens_in_the_admin(admin_client, integration):
    _client, secret = integration
    bearer(secret).get(ASSETS)
    token = ApiToken.objects.get()

    assert admin_client.get(reverse("admin:reserve_apitoken_add")).status_code == 403
    assert admin_client.post(reverse("admin:reserve_apitoken_change", args=[token.pk]), {}).status_code == 403
    assert admin_client.get(reverse("admin:reserve_apicalllog_add")).status_code == 403


def test_the_integration_group_has_no_permissions(db):
    assert not Group.objects.get(name="Integration client").permissions.exists()


def test_a_token_with_a_null_character_is_refused_and_logged(db):
    response = APIClient().get(ASSETS, HTTP_AUTHORIZATION="Bearer sdaf_\x00abc")

    assert_unauthorized(response, "token_invalid")
    assert ApiCallLog.objects.get().token_prefix == "sdaf_%00abc"
