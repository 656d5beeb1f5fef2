"""One rule, one answer per role, whichever face asks: the workflow screens, the admin, the REST
API and the engine agree on who may see a request and who may make one (table-driven)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from reserve.approvals.access import may_make_requests, requests_visible_to
from reserve.approvals.errors import ApprovalError
from reserve.approvals.services import create_request
from reserve.models import ApprovalRequest, Scope
from tests.support.api import bearer, client_with_token, new_key
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

TRANSFER = {
    "asset": "BTC",
    "amount": "0.5",
    "from_wallet": "",
    "to_wallet": "",
    "category": "reserve:forfeited",
}

#: (who, their roles, sees another clerk's transfer, may make requests)
PEOPLE = [
    ("intake clerk", ["Intake clerk"], False, True),
    ("mining clerk", ["Mining clerk"], False, True),
    ("custody officer (approver of transfers)", "custody1", True, True),
    ("treasury officer (not of transfers)", "treasury1", False, True),
    ("board member", "board1", False, True),
    ("auditor", ["Auditor"], True, False),
    ("integration client", ["Integration client"], False, True),
    ("no role", [], False, False),
    ("superuser", "root", True, True),
]


@pytest.fixture
def transfer(team, funded, wallet, other_wallet):
    payload = {**TRANSFER, "from_wallet": wallet.code, "to_wallet": other_wallet.code}
    return create_request(kind="reserve.transfer", payload=payload, maker=team.maker)


def person(team, spec):
    if isinstance(spec, str):
        return getattr(team, spec)
    return UserFactory(username="someone", roles=spec)


def admin_sees(user, approval) -> bool:
    model_admin = admin.site._registry[ApprovalRequest]
    request = RequestFactory().get("/admin/reserve/approvalrequest/")
    request.user = user
    return model_admin.get_queryset(request).filter(pk=approval.pk).exists()


def api_for(user):
    _client, secret = client_with_token(
        f"{user.username}-desk", [Scope.REQUESTS_READ, Scope.REQUESTS_WRITE], user=user
    )
    return bearer(secret)


@pytest.mark.parametrize("who,spec,sees,makes", PEOPLE, ids=[p[0] for p in PEOPLE])
def test_who_may_see_a_request_has_one_answer(client, team, transfer, who, spec, sees, makes):
    user = person(team, spec)
    client.force_login(user)
    screen = client.get(f"/workflow/requests/{transfer.pk}/").status_code
    api = api_for(user).get(f"/api/v1/requests/{transfer.pk}/").status_code
    answers = {
        "rule": requests_visible_to(user).filter(pk=transfer.pk).exists(),
        "screen": screen == 200,
        "admin": admin_sees(user, transfer),
        "api": api == 200,
    }
    assert answers == dict.fromkeys(answers, sees), (screen, api)
    assert screen in (200, 404) and api in (200, 404)


@pytest.mark.parametrize("who,spec,sees,makes", PEOPLE, ids=[p[0] for p in PEOPLE])
def test_who_may_make_a_request_has_one_answer(
    client, team, funded, wallet, other_wallet, who, spec, sees, makes
):
    user = person(team, spec)
    payload = {**TRANSFER, "from_wallet": wallet.code, "to_wallet": other_wallet.code}
    client.force_login(user)
    screen = client.get("/workflow/requests/new/transfers/").status_code
    api = (
        api_for(user)
        .post("/api/v1/requests/transfers/", payload, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
        .status_code
    )
    try:
        create_request(kind="reserve.transfer", payload=payload, maker=user)
        engine = True
    except ApprovalError:
        engine = False
    answers = {"rule": may_make_requests(user), "screen": screen == 200, "api": api == 201, "engine": engine}
    assert answers == dict.fromkeys(answers, makes), (screen, api)
    assert screen in (200, 403) and api in (201, 403)
