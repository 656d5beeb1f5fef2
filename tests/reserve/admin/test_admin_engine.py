"""The approval engine's admin screens: everything is read, nothing bypasses the engine.

Policies, approvers, the allow-list and governed settings change only through requests made
from proposal forms and decided by the quorum of the policy in force; superusers get no
approval power from the admin, neither from the engine's rows nor from Django's groups.
"""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reserve.addresses import encode_segwit
from reserve.approvals.services import create_request
from reserve.models import (
    AllowListedAddress,
    ApprovalPolicy,
    ApprovalRequest,
    ApproverMembership,
    Decision,
    GovernedSetting,
    PolicyTier,
    RequestStatus,
)
from tests.support.factories import UserFactory
from tests.support.screens import wallet_form_data

ENGINE_MODELS = [
    "approvalpolicy",
    "approvermembership",
    "allowlistedaddress",
    "governedsetting",
    "approvalrequest",
    "decision",
]
HISTORY_MODELS = [m for m in ENGINE_MODELS if m != "decision"]
MODEL_CLASSES = {
    "approvalpolicy": ApprovalPolicy,
    "approvermembership": ApproverMembership,
    "allowlistedaddress": AllowListedAddress,
    "governedsetting": GovernedSetting,
    "approvalrequest": ApprovalRequest,
    "decision": Decision,
}


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:reserve_{model}_{view}", args=args)


def propose_url(model: str, slug: str, obj=None) -> str:
    if obj is None:
        return url(model, "propose", slug)
    return url(model, "propose_row", obj.pk, slug)


def segwit_address(n: int) -> str:
    return encode_segwit("bc", 0, bytes([n % 256]) * 20)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def snapshot(model: str) -> list[tuple]:
    """Every row of ``model`` with all its columns, to prove nothing changed."""
    return list(MODEL_CLASSES[model].objects.order_by("pk").values_list())


@pytest.fixture
def root_client(client, team):
    client.force_login(team.root)
    return client


@pytest.fixture
def maker_client(client, team):
    client.force_login(team.maker)
    return client


@pytest.fixture
def auditor_client(client, team):
    auditor = team.outsider
    auditor.is_staff = True
    auditor.save(update_fields=["is_staff"])
    client.force_login(auditor)
    return client


def allowlisted(team, approve, n: int = 0) -> AllowListedAddress:
    """An address put on the allow-list by an approved request."""
    made = create_request(
        kind="reserve.allowlist_change",
        payload={
            "action": "add",
            "network": "bitcoin",
            "address": segwit_address(n),
            "label": f"Exchange {n}",
        },
        maker=team.maker,
    )
    approve(made, team.treasury1)
    approve(made, team.board1)
    return AllowListedAddress.objects.get(added_by_request=made)


def changed_setting(team, approve, hours: int = 24) -> GovernedSetting:
    made = create_request(
        kind="reserve.setting_change",
        payload={"key": "allowlist_cooling_off_hours", "value": hours},
        maker=team.maker,
    )
    approve(made, team.board1)
    approve(made, team.board2)
    return GovernedSetting.objects.get(key="allowlist_cooling_off_hours")


@pytest.fixture
def engine_rows(team, approve):
    """At least one row of every engine model, each made through the engine."""
    allowlisted(team, approve)
    changed_setting(team, approve)


def policy_form_data(policy: ApprovalPolicy | None = None, tiers=(), **overrides) -> dict:
    data = {
        "name": policy.name if policy else "Large transfers",
        "priority": str(policy.priority if policy else 55),
        "is_active": "on",
        "kind": policy.kind if policy else "reserve.transfer",
        "asset": "",
        "min_amount": "",
        "max_amount": "",
        "min_valuation": "",
        "max_valuation": "",
        "source_category": "",
        "destination_category": "",
        "expires_after_hours": "24",
        "requires_second_factor": "on",
        "comment": "Board resolution 14/2025.",
        "submission": "",
        "tiers-TOTAL_FORMS": str(max(len(tiers), 1)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    for i, (group, required) in enumerate(tiers):
        data[f"tiers-{i}-group"] = group
        data[f"tiers-{i}-required"] = str(required)
    data.update(overrides)
    return data


# Nobody writes the engine's rows in the admin


@pytest.mark.parametrize("model", ENGINE_MODELS)
def test_a_superuser_cannot_add_change_or_delete_engine_rows(root_client, engine_rows, model):
    row = MODEL_CLASSES[model].objects.order_by("pk").first()
    before = snapshot(model)

    add = root_client.get(url(model, "add"))
    change = root_client.post(url(model, "change", row.pk), {"_save": "Save"})
    delete = root_client.post(url(model, "delete", row.pk), {"post": "yes"})

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert snapshot(model) == before


def test_a_superuser_cannot_rewrite_a_policy_even_with_its_fields(root_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    response = root_client.post(
        url("approvalpolicy", "change", transfers.pk),
        {"name": "Transfers", "priority": "60", "expires_after": "7 00:00:00", "maker_may_approve": "on"},
    )

    assert response.status_code == 403
    transfers.refresh_from_db()
    assert (transfers.maker_may_approve, transfers.version) == (False, 1)


@pytest.mark.parametrize("model", HISTORY_MODELS)
def test_a_superuser_cannot_revert_engine_rows_through_their_history(root_client, engine_rows, model):
    row = MODEL_CLASSES[model].objects.order_by("pk").first()
    version = row.history.order_by("history_id").first()
    before = snapshot(model)

    response = root_client.post(url(model, "simple_history", row.pk, version.history_id), {})

    assert response.status_code == 403
    assert snapshot(model) == before


@pytest.mark.parametrize("model", ENGINE_MODELS)
def test_engine_lists_offer_no_delete_and_no_add_button(root_client, engine_rows, model):
    response = root_client.get(url(model, "changelist"))

    page = response.content.decode()
    assert response.status_code == 200
    assert url(model, "add") not in page
    actions = (
        dict(response.context["action_form"].fields["action"].choices)
        if response.context["action_form"]
        else {}
    )
    assert "delete_selected" not in actions


# Proposing a policy change


def test_the_policy_page_offers_to_propose_a_change(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    page = maker_client.get(url("approvalpolicy", "change", transfers.pk)).content.decode()
    listing = maker_client.get(url("approvalpolicy", "changelist")).content.decode()

    assert propose_url("approvalpolicy", "change", transfers) in page
    assert propose_url("approvalpolicy", "new") in listing


def test_the_policy_change_form_starts_from_the_policy_in_force(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    response = maker_client.get(propose_url("approvalpolicy", "change", transfers))

    form = response.context["form"]
    assert response.status_code == 200
    assert form.initial["name"] == "Transfers"
    assert form.initial["expires_after_hours"] == 7 * 24
    assert [row.initial for row in form.tiers.initial_forms] == [{"group": "Custody officer", "required": 2}]
    assert "2 of Board member" in response.content.decode(), "the page says who decides the change"


def test_proposing_a_policy_change_makes_a_pending_request_with_the_exact_payload(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    response = maker_client.post(
        propose_url("approvalpolicy", "change", transfers),
        policy_form_data(
            transfers, tiers=[("Custody officer", 1), ("Board member", 1)], min_valuation="1000"
        ),
    )

    made = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("approvalrequest", "change", made.pk)
    assert (made.kind, made.status, made.maker) == (
        "reserve.policy_change",
        RequestStatus.PENDING,
        team.maker,
    )
    assert made.comment == "Board resolution 14/2025."
    assert made.payload == {
        "policy": transfers.pk,
        "name": "Transfers",
        "priority": 60,
        "is_active": True,
        "kind": "reserve.transfer",
        "asset": "",
        "min_amount": "",
        "max_amount": "",
        "valuation_currency": "USD",
        "min_valuation": "1000.00",
        "max_valuation": None,
        "source_category": "",
        "destination_category": "",
        "maker_may_approve": False,
        "expires_after_hours": 24,
        "requires_second_factor": True,
        "tiers": [{"group": "Custody officer", "required": 1}, {"group": "Board member", "required": 1}],
    }
    transfers.refresh_from_db()
    assert transfers.version == 1, "nothing changes before approval"


def test_the_success_message_names_the_request_and_links_the_workflow_page(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    response = maker_client.post(
        propose_url("approvalpolicy", "change", transfers),
        policy_form_data(transfers, tiers=[("Custody officer", 3)]),
        follow=True,
    )

    made = ApprovalRequest.objects.get()
    [message] = messages_of(response)
    assert made.reference in message
    assert f'href="/workflow/requests/{made.pk}/"' in message
    assert response.status_code == 200


def test_a_policy_one_person_could_decide_alone_is_refused_on_the_form(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    response = maker_client.post(
        propose_url("approvalpolicy", "change", transfers),
        policy_form_data(transfers, tiers=[("Custody officer", 1)]),
    )

    assert response.status_code == 200
    assert "one person can never decide alone" in str(response.context["form"].tiers.non_form_errors())
    assert "one person can never decide alone" in response.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_the_engines_field_errors_land_on_their_fields(maker_client, team):
    response = maker_client.post(
        propose_url("approvalpolicy", "new"),
        policy_form_data(tiers=[("Custody officer", 2)], min_amount="1.5", max_valuation="lots"),
    )

    errors = response.context["form"].errors
    assert response.status_code == 200
    assert "Amount bounds need an asset." in errors["asset"]
    assert "max_valuation" in errors
    assert not ApprovalRequest.objects.exists()


def test_a_half_filled_tier_row_is_refused_before_the_engine(maker_client, team):
    data = policy_form_data(tiers=[("Custody officer", 2)])
    data.update({"tiers-TOTAL_FORMS": "2", "tiers-1-group": "Board member", "tiers-1-required": ""})

    response = maker_client.post(propose_url("approvalpolicy", "new"), data)

    assert response.status_code == 200
    assert response.context["form"].tiers.forms[1].non_field_errors()
    assert not ApprovalRequest.objects.exists()


def test_a_double_clicked_proposal_makes_one_request(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")
    data = policy_form_data(transfers, tiers=[("Custody officer", 3)], submission="5f0c1d2e3a4b")

    first = maker_client.post(propose_url("approvalpolicy", "change", transfers), data)
    second = maker_client.post(propose_url("approvalpolicy", "change", transfers), data)

    assert first.status_code == second.status_code == 302
    assert ApprovalRequest.objects.count() == 1


def test_a_proposed_policy_change_executes_only_after_two_board_approvals(maker_client, team, approve):
    transfers = ApprovalPolicy.objects.get(name="Transfers")
    maker_client.post(
        propose_url("approvalpolicy", "change", transfers),
        policy_form_data(transfers, tiers=[("Custody officer", 1), ("Board member", 1)]),
    )
    made = ApprovalRequest.objects.get()

    approve(made, team.board1)
    made.refresh_from_db()
    transfers.refresh_from_db()
    assert made.status == RequestStatus.PENDING
    assert [(t.group.name, t.required) for t in transfers.tiers.all()] == [("Custody officer", 2)]

    approve(made, team.board2)
    made.refresh_from_db()
    transfers.refresh_from_db()
    assert made.status == RequestStatus.EXECUTED
    assert transfers.version == 2
    assert [(t.group.name, t.required) for t in transfers.tiers.all()] == [
        ("Custody officer", 1),
        ("Board member", 1),
    ]


def test_a_new_policy_can_be_proposed_from_the_list(maker_client, team, approve):
    response = maker_client.post(
        propose_url("approvalpolicy", "new"),
        policy_form_data(tiers=[("Custody officer", 2), ("Treasury officer", 1)]),
    )
    made = ApprovalRequest.objects.get()
    approve(made, team.board1)
    approve(made, team.board3)

    policy = ApprovalPolicy.objects.get(name="Large transfers")
    assert response.status_code == 302
    assert made.payload["policy"] is None
    assert policy.priority == 55
    assert [(t.group.name, t.required) for t in policy.tiers.all()] == [
        ("Custody officer", 2),
        ("Treasury officer", 1),
    ]


def test_the_policy_history_shows_each_version_with_its_tiers(auditor_client, team, approve):
    transfers = ApprovalPolicy.objects.get(name="Transfers")
    made = create_request(
        kind="reserve.policy_change",
        payload={
            "policy": transfers.pk,
            "name": "Transfers",
            "priority": 60,
            "kind": "reserve.transfer",
            "expires_after_hours": 24,
            "tiers": [{"group": "Custody officer", "required": 3}],
        },
        maker=team.maker,
    )
    approve(made, team.board1)
    approve(made, team.board2)

    response = auditor_client.get(url("approvalpolicy", "history", transfers.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert "3 of Custody officer" in page
    assert "2 of Custody officer" in page
    assert "board2" in page, "the approver whose decision executed the change is the history user"


def test_the_policy_page_lists_the_requests_that_changed_it(auditor_client, team, approve):
    transfers = ApprovalPolicy.objects.get(name="Transfers")
    made = create_request(
        kind="reserve.policy_change",
        payload={
            "policy": transfers.pk,
            "name": "Transfers",
            "priority": 60,
            "kind": "reserve.transfer",
            "expires_after_hours": 24,
            "tiers": [{"group": "Custody officer", "required": 3}],
        },
        maker=team.maker,
    )

    page = auditor_client.get(url("approvalpolicy", "change", transfers.pk)).content.decode()

    assert made.reference in page
    assert url("approvalrequest", "change", made.pk) in page


# Proposing allow-list, approver and setting changes


def test_proposing_an_allowlist_address_makes_a_request(maker_client, team):
    response = maker_client.post(
        propose_url("allowlistedaddress", "add"),
        {
            "network": "bitcoin",
            "address": segwit_address(7).upper(),
            "label": "Exchange A",
            "counterparty": "ACME",
        },
    )

    made = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert made.kind == "reserve.allowlist_change"
    assert made.payload == {
        "action": "add",
        "network": "bitcoin",
        "address": segwit_address(7),
        "label": "Exchange A",
        "counterparty": "ACME",
    }
    assert not AllowListedAddress.objects.exists()


def test_an_invalid_allowlist_address_is_refused_on_its_field(maker_client, team):
    response = maker_client.post(
        propose_url("allowlistedaddress", "add"),
        {"network": "bitcoin", "address": "not-an-address", "label": "X"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["address"]
    assert not ApprovalRequest.objects.exists()


def test_proposing_a_removal_takes_the_address_from_the_row(maker_client, team, approve):
    entry = allowlisted(team, approve)

    response = maker_client.post(
        propose_url("allowlistedaddress", "remove", entry), {"network": "ethereum", "address": "tampered"}
    )

    made = ApprovalRequest.objects.filter(kind="reserve.allowlist_change", payload__action="remove").get()
    assert response.status_code == 302
    assert (made.payload["network"], made.payload["address"]) == ("bitcoin", entry.address)


def test_a_removed_address_offers_no_removal(maker_client, team, approve):
    entry = allowlisted(team, approve)
    AllowListedAddress.objects.filter(pk=entry.pk).update(removed_at=timezone.now())

    page = maker_client.get(url("allowlistedaddress", "change", entry.pk)).content.decode()
    response = maker_client.get(propose_url("allowlistedaddress", "remove", entry))

    assert propose_url("allowlistedaddress", "remove", entry) not in page
    assert response.status_code == 302


def test_proposing_to_grant_approval_power_makes_a_request_and_grants_nothing_yet(maker_client, team):
    newcomer = UserFactory(username="newcomer")

    response = maker_client.post(
        propose_url("approvermembership", "grant"), {"user": "newcomer", "group": "Custody officer"}
    )

    made = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert made.payload == {
        "action": "grant",
        "user": "newcomer",
        "user_id": newcomer.pk,
        "group": "Custody officer",
    }
    assert not ApproverMembership.objects.filter(user=newcomer).exists()
    assert not newcomer.groups.exists()


def test_granting_to_an_unknown_user_is_refused_on_the_user_field(maker_client, team):
    response = maker_client.post(
        propose_url("approvermembership", "grant"), {"user": "nobody", "group": "Custody officer"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["user"] == ["No such user."]
    assert not ApprovalRequest.objects.exists()


def test_proposing_to_revoke_an_approver_uses_the_membership(maker_client, team):
    membership = ApproverMembership.objects.get(user=team.custody3)

    response = maker_client.post(
        propose_url("approvermembership", "revoke", membership), {"comment": "Left the fund."}
    )

    made = ApprovalRequest.objects.get()
    assert response.status_code == 302
    assert made.payload == {
        "action": "revoke",
        "user": "custody3",
        "user_id": team.custody3.pk,
        "group": "Custody officer",
    }


def test_revoking_an_approver_a_policy_needs_is_refused_with_the_reason(maker_client, team):
    board = ApproverMembership.objects.filter(group__name="Board member").order_by("pk")
    ApproverMembership.objects.filter(pk=board[2].pk).update(revoked_at=timezone.now())

    response = maker_client.post(propose_url("approvermembership", "revoke", board[0]), {})

    assert response.status_code == 200
    assert "could never be met" in str(response.context["form"].errors["user"])
    assert not ApprovalRequest.objects.exists()


def test_proposing_a_setting_change_makes_a_request(maker_client, team, approve):
    response = maker_client.post(
        propose_url("governedsetting", "change"), {"key": "allowlist_cooling_off_hours", "value": "72"}
    )
    made = ApprovalRequest.objects.get()
    approve(made, team.board1)
    approve(made, team.board2)

    assert response.status_code == 302
    assert made.payload == {"key": "allowlist_cooling_off_hours", "value": 72}
    assert GovernedSetting.objects.get().value == 72


def test_a_setting_out_of_range_is_refused_on_the_value_field(maker_client, team):
    response = maker_client.post(
        propose_url("governedsetting", "change"), {"key": "allowlist_cooling_off_hours", "value": "100000"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["value"]
    assert not ApprovalRequest.objects.exists()


def test_the_policy_action_leads_to_the_proposal_form(maker_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    response = maker_client.post(
        url("approvalpolicy", "changelist"), {"action": "propose_change", "_selected_action": [transfers.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == propose_url("approvalpolicy", "change", transfers)


def test_an_auditor_cannot_propose(auditor_client, team):
    transfers = ApprovalPolicy.objects.get(name="Transfers")

    page = auditor_client.get(url("approvalpolicy", "change", transfers.pk)).content.decode()
    response = auditor_client.post(
        propose_url("approvalpolicy", "change", transfers),
        policy_form_data(transfers, tiers=[("Custody officer", 3)]),
    )

    assert propose_url("approvalpolicy", "change", transfers) not in page
    assert response.status_code == 403
    assert not ApprovalRequest.objects.exists()


def test_a_non_staff_approver_cannot_reach_a_proposal_form(client, team):
    client.force_login(team.board1)

    response = client.get(propose_url("approvalpolicy", "new"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


# Requests and decisions


def test_a_request_page_shows_the_action_digest_policy_and_decisions(auditor_client, team, approve):
    made = create_request(
        kind="reserve.setting_change",
        payload={"key": "allowlist_cooling_off_hours", "value": 12},
        maker=team.maker,
    )
    approve(made, team.board1)

    page = auditor_client.get(url("approvalrequest", "change", made.pk)).content.decode()

    assert made.reference in page
    assert made.payload_digest in page
    assert "&quot;allowlist_cooling_off_hours&quot;" in page
    assert "Governed settings" in page
    assert "board1" in page and "Checked against the evidence." in page
    assert "Board member: 1 / 2" in page
    assert f"/workflow/requests/{made.pk}/" in page
    assert 'name="_save"' not in page


def test_requests_can_be_filtered_by_status_and_kind_and_searched(root_client, team, approve):
    setting = create_request(
        kind="reserve.setting_change",
        payload={"key": "allowlist_cooling_off_hours", "value": 12},
        maker=team.maker,
    )
    grant = create_request(
        kind="reserve.approver_change",
        payload={"action": "grant", "user": "outsider", "group": "Treasury officer"},
        maker=team.maker,
    )
    approve(grant, team.board1, verdict="reject", comment="No.")

    by_status = root_client.get(url("approvalrequest", "changelist"), {"status": "rejected"})
    by_kind = root_client.get(url("approvalrequest", "changelist"), {"kind": "reserve.setting_change"})
    by_title = root_client.get(url("approvalrequest", "changelist"), {"q": "outsider"})

    assert list(by_status.context["cl"].result_list) == [grant]
    assert list(by_kind.context["cl"].result_list) == [setting]
    assert list(by_title.context["cl"].result_list) == [grant]


# Django users and groups give no approval power


def user_form_data(user, groups) -> dict:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [group.pk for group in groups],
        "user_permissions": [],
        "date_joined_0": timezone.localtime(user.date_joined).strftime("%Y-%m-%d"),
        "date_joined_1": timezone.localtime(user.date_joined).strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }


def test_a_superuser_adding_themselves_to_an_approver_group_is_refused(root_client, team):
    custody = Group.objects.get(name="Custody officer")

    response = root_client.post(
        reverse("admin:auth_user_change", args=[team.root.pk]), user_form_data(team.root, [custody])
    )

    assert response.status_code == 200
    assert "Custody officer" in str(response.context["adminform"].form.errors["groups"])
    assert not team.root.groups.exists()
    assert not ApproverMembership.objects.filter(user=team.root).exists()


def test_removing_an_approver_from_their_group_in_the_user_admin_is_refused(root_client, team):
    response = root_client.post(
        reverse("admin:auth_user_change", args=[team.custody1.pk]), user_form_data(team.custody1, [])
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["groups"]
    assert team.custody1.groups.filter(name="Custody officer").exists()


def test_other_groups_can_still_be_edited_in_the_user_admin(root_client, team):
    auditors = Group.objects.get(name="Auditor")
    custody = Group.objects.get(name="Custody officer")

    response = root_client.post(
        reverse("admin:auth_user_change", args=[team.custody1.pk]),
        user_form_data(team.custody1, [custody, auditors]),
    )

    assert response.status_code == 302
    assert set(team.custody1.groups.values_list("name", flat=True)) == {"Custody officer", "Auditor"}


def test_the_user_page_shows_approval_power_and_how_it_changes(root_client, team):
    page = root_client.get(reverse("admin:auth_user_change", args=[team.board1.pk])).content.decode()
    own = root_client.get(reverse("admin:auth_user_change", args=[team.root.pk])).content.decode()

    assert "Board member" in page
    assert "Approval power is granted and revoked only through approved requests" in page
    assert "one-time bootstrap" in page
    assert "Approval power is granted and revoked only through approved requests" in own
    assert "None." in own


@pytest.mark.parametrize(
    "name", ["auth_user_add", "auth_user_changelist", "auth_group_changelist", "auth_group_add"]
)
def test_the_user_and_group_admin_pages_still_open(root_client, team, name):
    assert root_client.get(reverse(f"admin:{name}")).status_code == 200


def test_an_approver_group_keeps_its_name_and_cannot_be_deleted(root_client, team):
    custody = Group.objects.get(name="Custody officer")

    page = root_client.get(reverse("admin:auth_group_change", args=[custody.pk])).content.decode()
    permissions = list(custody.permissions.values_list("pk", flat=True))
    rename = root_client.post(
        reverse("admin:auth_group_change", args=[custody.pk]), {"name": "Anyone", "permissions": permissions}
    )
    delete = root_client.post(reverse("admin:auth_group_delete", args=[custody.pk]), {"post": "yes"})

    assert "custody1" in page
    assert rename.status_code == 302
    assert delete.status_code == 403
    assert Group.objects.filter(pk=custody.pk, name="Custody officer").exists()


def test_an_approver_group_cannot_be_deleted_with_the_bulk_action(root_client, team):
    custody = Group.objects.get(name="Custody officer")

    root_client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [custody.pk], "post": "yes"},
    )

    assert Group.objects.filter(pk=custody.pk).exists()


# Reading: auditors and query counts


@pytest.mark.parametrize("model", ["approvalpolicy", "approvalrequest"])
def test_history_pages_render_for_an_auditor(auditor_client, team, approve, model):
    made = create_request(
        kind="reserve.setting_change",
        payload={"key": "allowlist_cooling_off_hours", "value": 12},
        maker=team.maker,
    )
    approve(made, team.board1)
    approve(made, team.board2)
    row = made if model == "approvalrequest" else made.policy

    history = auditor_client.get(url(model, "history", row.pk))
    version = auditor_client.get(
        url(model, "simple_history", row.pk, row.history.order_by("history_id").first().history_id)
    )

    assert history.status_code == 200
    assert version.status_code == 200
    assert 'value="Revert"' not in version.content.decode()


@pytest.mark.parametrize("model", ENGINE_MODELS)
def test_every_engine_page_opens_for_an_auditor(auditor_client, engine_rows, model):
    row = MODEL_CLASSES[model].objects.order_by("pk").first()

    listing = auditor_client.get(url(model, "changelist"))
    page = auditor_client.get(url(model, "change", row.pk))

    assert listing.status_code == 200
    assert page.status_code == 200


def build_engine_rows(team, count: int, start: int) -> None:
    """``count`` more rows of every engine model. Set up directly, not through the engine: the
    admin, not the engine, is under test here."""
    board = Group.objects.get(name="Board member")
    custody = Group.objects.get(name="Custody officer")
    now = timezone.now()
    for n in range(start, start + count):
        made = create_request(
            kind="reserve.setting_change",
            payload={"key": "allowlist_cooling_off_hours", "value": n},
            maker=team.maker,
        )
        Decision.objects.create(
            request=made,
            approver=team.board1 if n % 2 else team.board2,
            verdict="approve",
            digest=made.payload_digest,
            revision=1,
            second_factor=True,
            decided_at=now,
        )
        policy = ApprovalPolicy.objects.create(
            name=f"Test policy {n}",
            priority=2000 + n,
            kind="reserve.period_close",
            expires_after=dt.timedelta(days=1),
        )
        PolicyTier.objects.create(policy=policy, position=1, group=board, required=1)
        PolicyTier.objects.create(policy=policy, position=2, group=custody, required=1)
        ApproverMembership.objects.create(
            user=UserFactory(), group=custody, granted_at=now, granted_by_request=made
        )
        AllowListedAddress.objects.create(
            network="bitcoin",
            address=segwit_address(n),
            label=f"Exchange {n}",
            added_at=now,
            usable_from=now,
            added_by_request=made,
        )
        GovernedSetting.objects.create(key=f"test_{n}", value=n, changed_at=now, changed_by_request=made)


@pytest.mark.parametrize("model", ENGINE_MODELS)
def test_engine_list_pages_make_the_same_number_of_queries_for_one_row_or_five(root_client, team, model):
    build_engine_rows(team, 1, start=0)
    with CaptureQueriesContext(connection) as few:
        assert root_client.get(url(model, "changelist")).status_code == 200
    build_engine_rows(team, 4, start=1)

    with CaptureQueriesContext(connection) as more:
        response = root_client.get(url(model, "changelist"))

    assert response.context["cl"].result_count >= 5
    assert len(more) == len(few), [q["sql"] for q in more.captured_queries]


# Names that requests refer to do not change under them


def test_an_approver_cannot_be_renamed_in_the_user_admin(root_client, team):
    data = user_form_data(team.custody1, team.custody1.groups.all())
    data["username"] = "someone-else"

    response = root_client.post(reverse("admin:auth_user_change", args=[team.custody1.pk]), data)

    team.custody1.refresh_from_db()
    assert response.status_code == 302
    assert team.custody1.username == "custody1"


def test_a_user_named_in_a_pending_approver_request_cannot_be_renamed(root_client, team):
    newcomer = UserFactory(username="newcomer", is_staff=True)
    create_request(
        kind="reserve.approver_change",
        payload={"action": "grant", "user": "newcomer", "group": "Custody officer"},
        maker=team.maker,
    )
    data = user_form_data(newcomer, [])
    data["username"] = "newcomer-old"

    response = root_client.post(reverse("admin:auth_user_change", args=[newcomer.pk]), data)

    newcomer.refresh_from_db()
    assert response.status_code == 302
    assert newcomer.username == "newcomer"


def test_other_users_can_still_be_renamed(root_client, team):
    clerk = UserFactory(username="clerk-a", roles=["Intake clerk"], is_staff=True)
    data = user_form_data(clerk, clerk.groups.all())
    data["username"] = "clerk-b"

    response = root_client.post(reverse("admin:auth_user_change", args=[clerk.pk]), data)

    clerk.refresh_from_db()
    assert response.status_code == 302
    assert clerk.username == "clerk-b"


def test_a_wallet_code_and_an_asset_symbol_never_change_in_the_admin(
    root_client, team, wallet, asset, fund_in
):
    fund_in(wallet, asset, 1)
    changed_wallet = root_client.post(
        reverse("admin:reserve_wallet_change", args=[wallet.pk]), wallet_form_data(wallet, code="cold-z")
    )
    changed_asset = root_client.post(
        reverse("admin:reserve_asset_change", args=[asset.pk]),
        {"symbol": "XBT", "name": "Bitcoin", "network": "bitcoin", "decimals": "8", "is_active": "on"},
    )
    wallet.refresh_from_db()
    asset.refresh_from_db()
    assert (changed_wallet.status_code, changed_asset.status_code) == (403, 403)
    assert (wallet.code, asset.symbol) == ("cold-a", "BTC")
