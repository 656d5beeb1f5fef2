"""Management commands: load_sample_data and verify_ledger."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reserve import roles
from reserve.approvals.services import requests_awaiting
from reserve.ledger.verification import verify_ledger
from reserve.management.commands.load_sample_data import ADMIN_USERNAME, DEMO_PASSWORD, _rate_day
from reserve.models import (
    Account,
    AccountDay,
    ApprovalPolicy,
    ApprovalRequest,
    ApproverMembership,
    Asset,
    AuditEvent,
    Category,
    Decision,
    JournalEntry,
    Lot,
    OfficialRate,
    Posting,
    PriceSource,
    Quote,
    RequestStatus,
    Wallet,
    WalletAddress,
    WalletKind,
)
from reserve.pricing.services import rate_in_force
from reserve.pricing.sources.nbk import next_working_day
from reserve.valuations.services import value_holdings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nine sample users with the default PBKDF2 hasher would cost about two seconds a load."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def court_documents(settings, tmp_path):
    """The apps' sample data may store court documents: into the test's own folder."""
    settings.INTAKE_DOCUMENT_DIR = tmp_path / "court-documents"


def load_sample_data(**options) -> str:
    out = StringIO()
    call_command("load_sample_data", stdout=out, **options)
    return out.getvalue()


def verify(out: StringIO) -> None:
    call_command("verify_ledger", stdout=out)


def row_counts() -> dict[str, int]:
    models = (Asset, Wallet, WalletAddress, get_user_model(), JournalEntry, Posting, Account)
    models += (AccountDay, Lot, AuditEvent, ApprovalPolicy, ApprovalRequest, Decision)
    models += (ApproverMembership, Quote, OfficialRate, PriceSource.history.model)
    return {model.__name__: model.objects.count() for model in models}


def test_load_sample_data_twice_changes_nothing():
    load_sample_data()
    first = row_counts()

    output = load_sample_data()

    assert row_counts() == first
    assert "nothing changed" in output


def test_sample_data_has_the_three_assets_with_their_decimals():
    load_sample_data()

    assert {a.symbol: (a.network, a.decimals) for a in Asset.objects.all()} == {
        "BTC": ("bitcoin", 8),
        "ETH": ("ethereum", 18),
        "USDT-TRC20": ("tron", 6),
    }
    assert Asset.objects.get(symbol="USDT-TRC20").contract_address == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


def test_sample_data_has_every_wallet_kind_on_bitcoin_and_ethereum_with_an_address():
    load_sample_data()

    for network in ("bitcoin", "ethereum"):
        kinds = set(Wallet.objects.filter(network=network).values_list("kind", flat=True))
        assert kinds == set(WalletKind.values), network
    assert not Wallet.objects.filter(addresses__isnull=True).exists()
    for address in WalletAddress.objects.select_related("wallet"):
        address.full_clean()
        assert address.network == address.wallet.network


def test_sample_data_has_users_for_every_role_with_the_demo_password():
    load_sample_data()
    User = get_user_model()

    for role in roles.ROLE_PERMISSIONS:
        users = User.objects.filter(groups__name=role).exclude(username__endswith="@api")  # API service users
        assert users.exists(), role
        assert all(user.check_password(DEMO_PASSWORD) for user in users)
    clerks = User.objects.filter(groups__name__in=[roles.INTAKE_CLERK, roles.MINING_CLERK])
    assert all(clerk.is_staff for clerk in clerks)
    admin = User.objects.get(username=ADMIN_USERNAME)
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)


def test_sample_approvers_can_meet_every_default_policy():
    load_sample_data()

    for policy in ApprovalPolicy.objects.prefetch_related("tiers__group"):
        for tier in policy.tiers.all():
            members = ApproverMembership.objects.filter(group=tier.group, revoked_at__isnull=True)
            assert members.count() >= tier.required, (policy.name, tier.group.name)


def test_sample_ledger_entries_were_posted_by_approved_requests():
    load_sample_data()

    entries = JournalEntry.objects.select_related("request")
    reasons = [entry.reason for entry in entries]
    # reserve's own transfer and the mining sample's sweep to cold storage
    assert reasons.count("reserve.transfer") == 2
    assert reasons.count("reserve.opening_balance") >= 4
    assert all(entry.request.status == RequestStatus.EXECUTED for entry in entries)
    assert verify_ledger().ok


def test_sample_ledger_holds_every_category_and_a_no_sale_restriction():
    load_sample_data()

    held = set(Account.objects.filter(balance__gt=0).values_list("category", flat=True))
    assert {"custody:pending", "reserve:forfeited", "reserve:mined", "restricted"} <= held
    restricted = Lot.objects.filter(account__category=Category.RESTRICTED, remaining__gt=0)
    assert restricted.exists()
    assert all(lot.restriction == "no_sale" for lot in restricted)


def test_sample_data_leaves_real_inboxes():
    load_sample_data()
    users = get_user_model().objects

    waiting = {r.kind: r for r in requests_awaiting(users.get(username="custody_officer_2"))}
    assert sorted(waiting) == ["reserve.period_close", "reserve.transfer"]
    assert waiting["reserve.transfer"].decisions.count() == 1
    # Reserve's own requests; the apps built on it add their own (intake: a forfeiture).
    assert [
        r.kind for r in requests_awaiting(users.get(username="board_member")) if r.kind.startswith("reserve.")
    ] == ["reserve.allowlist_change"]


def test_sample_data_enters_a_manual_price_of_each_asset_and_a_usd_kzt_rate_in_force_today():
    load_sample_data()

    quotes = Quote.objects.filter(source__code="manual").select_related("asset", "entered_by")
    prices = {q.asset.symbol: q.price for q in quotes}
    assert prices == {"BTC": Decimal("95000.00"), "ETH": Decimal("3500.00"), "USDT-TRC20": Decimal("1.0000")}
    assert {(q.note, q.entered_by.username, q.manual) for q in quotes} == {
        ("Sample data: manual price", "intake_clerk", True)
    }
    assert AuditEvent.objects.filter(action="reserve.price.entered").count() == 3
    assert PriceSource.objects.get(code="manual").max_age_seconds == 7 * 24 * 3600
    rate = rate_in_force("USD", timezone.now())
    assert rate is not None
    assert (rate.rate_per_unit, rate.source.code, rate.entered_by.username) == (
        Decimal("520.00"),
        "manual",
        "intake_clerk",
    )


def test_sample_data_values_the_holdings_offline_in_usd_and_kzt():
    load_sample_data()

    snapshot = value_holdings(at=timezone.now())

    assert snapshot.unpriced == []
    assert snapshot.reserve_usd > 0
    assert snapshot.reserve_kzt == sum(
        line.value_kzt for line in snapshot.lines.all() if line.category != Category.CUSTODY_PENDING
    )
    assert snapshot.usd_kzt == Decimal("520.00")


@pytest.mark.parametrize(
    ("today", "day"),
    [
        ("2026-12-07", "2026-12-04"),  # Monday: Friday's rate applies from Monday
        ("2026-12-08", "2026-12-07"),
        ("2026-12-05", "2026-12-03"),  # Saturday: Friday's applies from Monday, Thursday's from Friday
        ("2026-12-06", "2026-12-03"),
    ],
)
def test_the_sample_rate_day_is_the_latest_working_day_whose_rate_is_in_force(today, day):
    chosen = _rate_day(dt.date.fromisoformat(today))

    assert chosen == dt.date.fromisoformat(day)
    assert next_working_day(chosen) <= dt.date.fromisoformat(today)


def test_load_sample_data_refuses_to_run_in_production(settings):
    settings.DJANGO_ENV = "production"

    with pytest.raises(CommandError, match="production"):
        load_sample_data()

    assert not JournalEntry.objects.exists()
    assert not get_user_model().objects.filter(username=ADMIN_USERNAME).exists()


def test_load_sample_data_runs_in_production_with_force(settings):
    settings.DJANGO_ENV = "production"

    load_sample_data(force=True)

    assert JournalEntry.objects.exists()


def test_verify_ledger_passes_on_the_sample_data():
    load_sample_data()
    out = StringIO()

    verify(out)

    output = out.getvalue()
    assert "The ledger is consistent." in output
    assert "FAIL" not in output
    assert "account balance = sum of postings (" in output


def test_verify_ledger_fails_and_names_the_account_whose_balance_was_changed_behind_its_back():
    load_sample_data()
    account = Account.objects.get(
        wallet__code="btc-cold-1", category=Category.RESERVE_FORFEITED, asset__symbol="BTC"
    )
    Account.objects.filter(pk=account.pk).update(balance=account.balance + 1)
    out = StringIO()

    with pytest.raises(CommandError, match="problem"):
        verify(out)

    output = out.getvalue()
    assert "FAIL  account balance = sum of postings" in output
    assert str(account) in output


def test_verify_ledger_on_an_empty_ledger_passes():
    out = StringIO()

    verify(out)

    assert "The ledger is consistent." in out.getvalue()


def test_run_embedded_asks_at_start_for_a_valuation_that_prices_the_sample_data():
    from reserve.management.commands.run_embedded import Command as RunEmbedded
    from reserve.models import OutboxMessage, ValuationSnapshot
    from reserve.tasks import refresh_valuation_task

    load_sample_data()
    before = timezone.now()

    RunEmbedded()._ask_for_a_first_valuation()

    message = OutboxMessage.objects.get()
    assert message.task == "reserve.tasks.refresh_valuation_task"
    assert message.kwargs["trigger"] == "start"
    assert dt.datetime.fromisoformat(message.kwargs["at"]) >= before
    # What the worker runs: the instant of the start, after the sample prices were entered.
    snapshot = ValuationSnapshot.objects.get(pk=refresh_valuation_task(*message.args, **message.kwargs))
    assert (snapshot.trigger, snapshot.unpriced) == ("start", [])
    # 15.625 BTC + 1.95 BTC forfeited by intake x 95,000 + (150 + 12.5) ETH x 3,500 = 2,238,375.00
    # + the October 2024 output the mining sample posted, valued per wallet line to the tiyn/cent:
    # 8.41120345 BTC swept to btc-cold-1 (799,064.33), 8.10002663 at Shardara (769,502.53),
    # 3.55192586 at Zhanaozen (337,432.96) = 1,905,999.82
    assert snapshot.reserve_usd == Decimal("4144374.82")
    # KZT: each line's exact value x 520, then rounded (1,163,955,000.00 + 991,119,903.43)
    assert snapshot.reserve_kzt == Decimal("2155074903.43")


def test_sample_data_registered_by_another_app_runs_after_reserves_with_the_sample_users(monkeypatch):
    from reserve import sample_data

    seen = {}

    def loader(context):
        seen["maker"] = context.maker.username
        seen["approvers"] = sorted(u.username for u in context.approvers)
        seen["prices entered"] = Quote.objects.filter(source__code="manual").count()
        context.count("widgets", True)

    monkeypatch.setitem(sample_data._LOADERS, "widgets", loader)

    output = load_sample_data()

    assert seen["maker"] == "intake_clerk"
    assert "board_member_2" in seen["approvers"] and "intake_clerk" not in seen["approvers"]
    assert seen["prices entered"] == 3
    assert "1 widgets" in output


def test_a_refused_contributed_sample_data_names_its_app_and_changes_nothing(monkeypatch):
    from django.core.exceptions import ValidationError

    from reserve import sample_data

    def loader(context):
        raise ValidationError("No widget without a court order.")

    monkeypatch.setitem(sample_data._LOADERS, "widgets", loader)

    with pytest.raises(
        CommandError, match="Sample data of widgets was refused: No widget without a court order"
    ):
        load_sample_data()
    assert not Asset.objects.exists()
