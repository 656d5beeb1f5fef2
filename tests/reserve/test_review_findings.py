"""Findings of an adversarial review of the reserve core.

Each test asserts the behaviour the fund needs. Each finding has been fixed; the tests stay as regression tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reserve.amounts import AmountError, parse_amount
from reserve.approvals.services import ApprovalError, create_request
from reserve.ledger.reasons import NO_SALE
from reserve.ledger.selectors import account_balances_as_of
from reserve.ledger.services import LedgerError, Line, Origin, get_account, post_entry, reverse_entry
from reserve.models import (
    AccountDay,
    ApiClient,
    ApprovalPolicy,
    JournalEntry,
    Lot,
    PolicyTier,
    RequestStatus,
)
from tests.support.api import bearer, new_key
from tests.support.factories import UserFactory, WalletFactory

FORFEITED = "reserve:forfeited"


def transfer_payload(src, dst, amount="1"):
    return {
        "asset": "BTC",
        "amount": amount,
        "from_wallet": src.code,
        "to_wallet": dst.code,
        "category": FORFEITED,
    }


# --- 1. A superuser moves funds alone -----------------------------------------------------------------


def _code(key_hex: str, *, steps_ahead: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex), 30, 0, 6, 0)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def test_a_superuser_cannot_move_funds_alone_by_impersonating_approvers_in_the_admin(
    team, funded_opening_balance, wallet, other_wallet, asset
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.root
    )
    admin = Client()
    admin.force_login(team.root)
    for victim in (team.custody1, team.custody2):
        # 1. An API client that "acts as" the approver, made by the superuser in the admin.
        admin.post(
            "/admin/reserve/apiclient/add/",
            {
                "name": f"{victim.username}-shadow",
                "description": "",
                "acts_as": victim.pk,
                "scopes": ["requests:read", "requests:decide"],
            },
        )
        shadow = ApiClient.objects.filter(user=victim).first()
        if shadow is None:
            continue
        page = admin.post(
            "/admin/reserve/apiclient/",
            {"action": "issue_token_action", "_selected_action": [shadow.pk]},
            follow=True,
        ).content.decode()
        secret = re.search(r"<code>(sdaf_[^<]+)</code>", page).group(1)
        # 2. A second factor for the approver, with a key the superuser chose, in the admin.
        key = "3132333435363738393031323334353637383930"
        admin.post(
            "/admin/otp_totp/totpdevice/add/",
            {
                "user": victim.pk,
                "name": "shadow",
                "confirmed": "on",
                "key": key,
                "step": 30,
                "t0": 0,
                "digits": 6,
                "tolerance": 1,
                "drift": 0,
                "throttling_failure_count": 0,
            },
        )
        # 3. Decide through the API as the approver.
        bearer(secret).post(
            f"/api/v1/requests/{transfer.pk}/decisions/",
            {"verdict": "approve", "comment": "", "digest": transfer.payload_digest, "otp_token": _code(key)},
            format="json",
            HTTP_IDEMPOTENCY_KEY=new_key(),
        )
    transfer.refresh_from_db()
    assert transfer.status == RequestStatus.PENDING
    assert get_account(wallet=other_wallet, category=FORFEITED, asset=asset).balance == 0


# --- 2. Approvers' TOTP secrets readable by the auditor --------------------------------------------------


def test_an_auditor_cannot_read_an_approvers_totp_secret(team):
    device = TOTPDevice.objects.create(user=team.custody1, name="phone", confirmed=True)
    auditor = team.outsider  # role Auditor
    auditor.is_staff = True
    auditor.save()
    client = Client()
    client.force_login(auditor)
    config = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/")
    change = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert device.key not in config.content.decode()
    assert device.key not in change.content.decode()


# --- 3. A reversal launders a no-sale restriction ----------------------------------------------------------


def test_a_reversal_never_turns_no_sale_units_into_saleable_ones(asset, db):
    a, b, c = (WalletFactory(code=code) for code in ("w-a", "w-b", "w-c"))
    external = get_account(wallet=None, category="external", asset=asset)
    acc = {w.code: get_account(wallet=w, category=FORFEITED, asset=asset) for w in (a, b, c)}
    post_entry(
        reason="test.inflow",
        lines=[Line(external, -10), Line(acc["w-a"], 10)],
        origin=Origin(kind="test.inflow", label="free coins"),
    )
    first = post_entry(reason="test.move", lines=[Line(acc["w-a"], -10), Line(acc["w-b"], 10)])
    post_entry(
        reason="test.inflow",
        lines=[Line(external, -10), Line(acc["w-b"], 10)],
        origin=Origin(kind="test.inflow", label="no-sale coins", restriction=NO_SALE),
    )
    post_entry(reason="test.move", lines=[Line(acc["w-b"], -10), Line(acc["w-c"], 10)])  # FIFO: the free lot
    try:
        reverse_entry(entry=first)
    except LedgerError:
        return  # refusing is a correct answer: the units the entry brought to w-b are gone
    no_sale = sum(Lot.objects.filter(restriction=NO_SALE).values_list("remaining", flat=True))
    assert no_sale == 10, "the 10 no-sale units vanished: w-a now holds them as saleable coins"


# --- 4. A stricter policy added later does not govern pending requests ---------------------------------------


def test_a_pending_request_is_not_executed_under_a_policy_that_no_longer_governs_it(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    # A policy change (as if approved by the board) puts a stricter policy ahead of "Transfers".
    stricter = ApprovalPolicy.objects.create(
        priority=5,
        name="Transfers need the board",
        kind="reserve.transfer",
        expires_after=dt.timedelta(days=7),
    )
    PolicyTier.objects.create(
        policy=stricter, position=1, group=Group.objects.get(name="Board member"), required=2
    )
    with pytest.raises(ValidationError, match="policy governing this request changed"):
        approve(transfer, team.custody1)
    with contextlib.suppress(ValidationError):
        approve(transfer, team.custody2)
    transfer.refresh_from_db()
    assert transfer.status != RequestStatus.EXECUTED


# --- 5. The ledger's idempotency key ignores what the entry is -----------------------------------------------


def test_an_idempotency_key_reused_for_a_different_entry_is_refused(asset, wallet, other_wallet, fund_in):
    source = fund_in(wallet, asset, 100)
    target = get_account(wallet=other_wallet, category=FORFEITED, asset=asset)
    first = post_entry(
        reason="test.move", lines=[Line(source, -10), Line(target, 10)], memo="first", idempotency_key="k"
    )
    with pytest.raises(LedgerError):
        post_entry(
            reason="test.outflow",
            lines=[Line(source, -10), Line(target, 10)],
            memo="another",
            idempotency_key="k",
            source=first,
        )


# --- 6. Amount parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["1" * 5000, Decimal("1E+5000")], ids=["5000-digit string", "Decimal 1E+5000"]
)
def test_very_long_amounts_are_refused_with_an_amount_error(raw):
    with pytest.raises(AmountError):
        parse_amount(raw, 8)


# --- 7. One clerk registers a "custody wallet": transfers to it skip the allow-list and its cooling-off ------


def test_a_wallet_one_clerk_just_registered_cannot_receive_a_transfer(
    team, funded_opening_balance, wallet, asset, approve
):
    clerk = team.maker  # Intake clerk, staff
    admin = Client()
    admin.force_login(clerk)
    response = admin.post(
        "/admin/reserve/wallet/add/",
        {
            "code": "hot-x",
            "name": "Hot X",
            "kind": "hot",
            "network": "bitcoin",
            "custodian": "",
            "description": "",
            "is_active": "on",
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-MIN_NUM_FORMS": "0",
            "addresses-MAX_NUM_FORMS": "1000",
            # Any address at all, e.g. one the clerk controls.
            "addresses-0-address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "addresses-0-label": "",
            "addresses-0-is_active": "on",
        },
    )
    # Custody wallets are registered only through an approved custody change.
    from reserve.models import Wallet

    assert response.status_code == 403
    assert not Wallet.objects.filter(code="hot-x").exists()


# --- 8. Execution does not re-check that the wallets are still active ----------------------------------------


def test_a_transfer_into_a_wallet_deactivated_since_the_request_is_not_executed(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    other_wallet.is_active = False  # e.g. its keys are suspected compromised
    other_wallet.save()
    approve(transfer, team.custody1)
    with pytest.raises(ValidationError, match="has been deactivated"):
        approve(transfer, team.custody2)
    transfer.refresh_from_db()
    assert transfer.status != RequestStatus.EXECUTED


# --- 9. A backdated outflow makes a past closing balance negative ---------------------------------------------


def test_a_backdated_outflow_never_makes_a_past_balance_negative(asset, wallet, other_wallet, fund_in):
    source = fund_in(wallet, asset, 10)  # arrives now
    target = get_account(wallet=other_wallet, category=FORFEITED, asset=asset)
    ten_days_ago = timezone.now() - dt.timedelta(days=10)
    try:
        post_entry(reason="test.move", lines=[Line(source, -10), Line(target, 10)], effective_at=ten_days_ago)
    except LedgerError:
        return
    day = timezone.localtime(ten_days_ago).date()
    closing = AccountDay.objects.get(account=source, day=day).closing
    as_of = dict((a.pk, units) for a, units in account_balances_as_of(day))[source.pk]
    assert closing >= 0 and as_of >= 0, f"{source} held {as_of} units on {day}"


# --- 10. The engine's idempotency key is not bound to the maker or the action ---------------------------------


def test_a_request_idempotency_key_never_returns_someone_elses_request(
    team, funded_opening_balance, wallet, other_wallet
):
    mine = create_request(
        kind="reserve.transfer",
        payload=transfer_payload(wallet, other_wallet, "1"),
        maker=team.maker,
        idempotency_key="k1",
    )
    clerk2 = UserFactory(username="clerk2", roles=["Intake clerk"])
    try:
        theirs = create_request(
            kind="reserve.allowlist_change",
            payload={
                "action": "add",
                "network": "bitcoin",
                "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                "label": "Exchange",
            },
            maker=clerk2,
            idempotency_key="k1",
        )
    except ApprovalError:
        return
    assert theirs.pk != mine.pk and theirs.maker == clerk2


# --- 11. Closing a month leaves every earlier month open ----------------------------------------------------


def test_an_entry_dated_before_a_closed_period_is_refused(asset, wallet, db):
    from reserve.models import Period

    today = timezone.localdate()
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    Period.objects.create(year=last_month.year, month=last_month.month, closed_at=timezone.now())
    three_months_ago = timezone.make_aware(
        dt.datetime.combine(last_month.replace(day=1) - dt.timedelta(days=40), dt.time(12))
    )
    external = get_account(wallet=None, category="external", asset=asset)
    account = get_account(wallet=wallet, category=FORFEITED, asset=asset)
    with pytest.raises(LedgerError):
        post_entry(
            reason="test.inflow",
            lines=[Line(external, -5), Line(account, 5)],
            origin=Origin(kind="test.inflow", label="late"),
            effective_at=three_months_ago,
        )


# --- 12. Reversals escape asset- and amount-scoped policies ------------------------------------------------------


def test_a_large_reversal_is_governed_by_the_policy_for_its_asset_and_amount(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet, "2"), maker=team.maker
    )
    approve(transfer, team.custody1)
    approve(transfer, team.custody2)
    entry = JournalEntry.objects.get(request=transfer)
    large = ApprovalPolicy.objects.create(
        priority=3,
        name="Large reversals",
        kind="reserve.reversal",
        asset=funded_opening_balance.asset,
        min_units=10**8,
        expires_after=dt.timedelta(days=7),
    )
    PolicyTier.objects.create(
        policy=large, position=1, group=Group.objects.get(name="Board member"), required=2
    )
    reversal = create_request(
        kind="reserve.reversal", payload={"entry": entry.number, "reason": "mistake"}, maker=team.maker
    )
    assert reversal.policy == large, f"a 2 BTC reversal was matched to “{reversal.policy.name}”"
