"""Demo data for the embedded default: assets, wallets, sample users, approvers and a small
ledger made the way the fund makes it.

Idempotent: reference data is looked up before it is created and every approval request
carries a ``sample:`` idempotency key, so a second run changes nothing. Wallets and addresses go
through ``full_clean()`` (addresses are validated and normalised like any clerk's input). Ledger
entries are never written directly: the intake clerk makes approval requests (opening balances
taken over from the 2025 register, a transfer), the sample approvers approve them, and the
approval engine executes them through :func:`reserve.ledger.services.post_entry`. One transfer
is left half-approved so that an approver's inbox has something in it. The clerk also enters a
manual price of each asset and a manual USD/KZT official rate (through the pricing services), so
that the offline demo values its holdings.

Then the sample data of the apps built on reserve runs, registered through
:mod:`reserve.sample_data` (reserve never imports them), with the sample users and approvers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone

from reserve import roles
from reserve.approvals.services import bootstrap_approvers, create_request
from reserve.models import (
    ApprovalRequest,
    ApproverMembership,
    Asset,
    Category,
    Network,
    OfficialRate,
    PriceSource,
    Quote,
    RequestStatus,
    Wallet,
    WalletAddress,
    WalletKind,
)
from reserve.pricing.services import MANUAL, enter_manual_price, enter_official_rate
from reserve.pricing.sources.nbk import next_working_day
from reserve.sample_data import SampleContext, approve_in_turn, registered_sample_data

#: Password of every sample user; printed by ``run_embedded``. Embedded demo only.
DEMO_PASSWORD = "reserve-demo-2025"
ADMIN_USERNAME = "admin"

CSD = "Central Securities Depository"


@dataclass(frozen=True)
class SampleUser:
    username: str
    role: str
    first_name: str
    last_name: str

    @property
    def is_staff(self) -> bool:
        # Clerks work in the admin; auditors read it (view permissions only). Approvers use
        # the workflow screens and integrations the API, so they get no admin access.
        return self.role in (roles.INTAKE_CLERK, roles.MINING_CLERK, roles.AUDITOR)


SAMPLE_USERS = (
    SampleUser("intake_clerk", roles.INTAKE_CLERK, "Aigerim", "Sadykova"),
    SampleUser("mining_clerk", roles.MINING_CLERK, "Nurlan", "Bekov"),
    # Two approvers per approver group: the default policies need two of some groups
    # (transfers: 2 custody officers; disposals: 2 treasury officers; policy changes: 2 board
    # members) and the engine refuses a bootstrap whose approvers could not meet them.
    SampleUser("custody_officer", roles.CUSTODY_OFFICER, "Dana", "Omarova"),
    SampleUser("custody_officer_2", roles.CUSTODY_OFFICER, "Timur", "Kassymov"),
    SampleUser("treasury_officer", roles.TREASURY_OFFICER, "Yerlan", "Zhumabayev"),
    SampleUser("treasury_officer_2", roles.TREASURY_OFFICER, "Gulnara", "Abenova"),
    SampleUser("board_member", roles.BOARD_MEMBER, "Saule", "Iskakova"),
    SampleUser("board_member_2", roles.BOARD_MEMBER, "Askar", "Nurpeisov"),
    SampleUser("auditor", roles.AUDITOR, "Marat", "Tulegenov"),
    SampleUser("integration", roles.INTEGRATION_CLIENT, "Court case", "system"),
)

ASSETS = (
    {"symbol": "BTC", "name": "Bitcoin", "network": Network.BITCOIN, "decimals": 8},
    {"symbol": "ETH", "name": "Ether", "network": Network.ETHEREUM, "decimals": 18},
    {
        "symbol": "USDT-TRC20",
        "name": "Tether USD (TRC-20)",
        "network": Network.TRON,
        "decimals": 6,
        "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    },
)


@dataclass(frozen=True)
class SampleWallet:
    code: str
    name: str
    kind: str
    network: str
    address: str
    custodian: str = CSD


# fmt: off
WALLETS = (
    SampleWallet(
        "btc-cold-1", "BTC cold multisig 2-of-3", WalletKind.COLD_MULTISIG, Network.BITCOIN,
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    ),
    SampleWallet(
        "btc-hot-1", "BTC hot wallet", WalletKind.HOT, Network.BITCOIN,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", custodian="",
    ),
    SampleWallet(
        "btc-csd-1", "BTC account at the CSD", WalletKind.CUSTODIAN, Network.BITCOIN,
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    ),
    SampleWallet(
        "btc-intake-1", "BTC seizure intake", WalletKind.SEIZURE_INTAKE, Network.BITCOIN,
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    ),
    SampleWallet(
        "eth-cold-1", "ETH cold multisig (Safe 3-of-5)", WalletKind.COLD_MULTISIG, Network.ETHEREUM,
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    ),
    SampleWallet(
        "eth-hot-1", "ETH hot wallet", WalletKind.HOT, Network.ETHEREUM,
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", custodian="",
    ),
    SampleWallet(
        "eth-csd-1", "ETH account at the CSD", WalletKind.CUSTODIAN, Network.ETHEREUM,
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    ),
    SampleWallet(
        "eth-intake-1", "ETH seizure intake", WalletKind.SEIZURE_INTAKE, Network.ETHEREUM,
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ),
    SampleWallet(
        "trx-intake-1", "Tron seizure intake", WalletKind.SEIZURE_INTAKE, Network.TRON,
        "TJEh7TX8sNj5uq4hXKyYdTrnGmeeG48top",
    ),
)
# fmt: on

REGISTER = "Taken over from the 2025 register"

#: Manual prices of the sample assets in USD (exact decimal strings), entered by the clerk.
SAMPLE_PRICES = {"BTC": "95000.00", "ETH": "3500.00", "USDT-TRC20": "1.0000"}
SAMPLE_PRICE_NOTE = "Sample data: manual price"
#: The manual official rate, KZT per USD, for the latest working day whose rate is in force today.
SAMPLE_USD_KZT = "520.00"
#: How long a manual price stays usable in the embedded demo (the source's default is 15 minutes,
#: which would leave the holdings unpriced a quarter of an hour after the sample data is loaded).
SAMPLE_MANUAL_MAX_AGE = 7 * 24 * 3600


#: The clerk who makes the sample requests.
MAKER = "intake_clerk"


@dataclass(frozen=True)
class SampleRequest:
    key: str
    kind: str
    payload: dict
    comment: str
    #: Approvers who approve it, in order; None: every sample approver the policy needs.
    approvers: tuple[str, ...] | None = None


def _opening(key, asset, wallet, category, amount, case, restriction="", day="2025-01-15") -> SampleRequest:
    return SampleRequest(
        key=f"opening:{key}",
        kind="reserve.opening_balance",
        payload={
            "asset": asset,
            "wallet": wallet,
            "category": category,
            "amount": amount,
            "origin": f"Taken over from the 2025 register, case {case}",
            "restriction": restriction,
            "effective_date": day,
        },
        comment="Opening balance from the 2025 register (sample data).",
    )


# fmt: off
SAMPLE_REQUESTS = (
    _opening("btc-cold-forfeited", "BTC", "btc-cold-1", Category.RESERVE_FORFEITED, "12.5",
             "2024-01-0117 (forfeiture judgment in force 2024-12-12)"),
    _opening("btc-intake-pending", "BTC", "btc-intake-1", Category.CUSTODY_PENDING, "0.84213377",
             "2025-02-0031 (case open)", day="2025-03-03"),
    _opening("btc-csd-mined", "BTC", "btc-csd-1", Category.RESERVE_MINED, "3.125",
             "MIN-2024-Q4 (Ekibastuz mining site, Q4 2024 output)", day="2025-04-01"),
    _opening("eth-cold-restricted", "ETH", "eth-cold-1", Category.RESTRICTED, "150",
             "2024-03-0208 (forfeited; no sale by court order)", restriction="no_sale"),
    _opening("eth-intake-pending", "ETH", "eth-intake-1", Category.CUSTODY_PENDING,
             "42.123456789012345678", "2025-05-0412 (case open)", day="2025-06-10"),
    _opening("usdt-intake-pending", "USDT-TRC20", "trx-intake-1", Category.CUSTODY_PENDING,
             "250000", "2025-06-0077 (case open)", day="2025-07-21"),
    SampleRequest(
        key="transfer:btc-cold-to-csd",
        kind="reserve.transfer",
        payload={"asset": "BTC", "amount": "2.5", "from_wallet": "btc-cold-1",
                 "to_wallet": "btc-csd-1", "category": Category.RESERVE_FORFEITED},
        comment="Forfeited BTC moved to the account at the CSD (sample data).",
    ),
    # Left pending with one of the two approvals it needs: shows in custody_officer_2's inbox.
    SampleRequest(
        key="transfer:eth-intake-to-cold",
        kind="reserve.transfer",
        payload={"asset": "ETH", "amount": "10", "from_wallet": "eth-intake-1",
                 "to_wallet": "eth-cold-1", "category": Category.CUSTODY_PENDING},
        comment="Seized ETH of case 2025-05-0412 to cold storage (sample data, awaiting approval).",
        approvers=("custody_officer",),
    ),
    # Awaiting a treasury officer and a board member.
    SampleRequest(
        key="allowlist:aifc-exchange",
        kind="reserve.allowlist_change",
        payload={"action": "add", "network": "bitcoin", "label": "AIFC exchange, sale account",
                 "address": "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
                 "counterparty": "Licensed digital asset exchange (AIFC)"},
        comment="Deposit address for the 2026 disposal programme (sample data, awaiting approval).",
        approvers=(),
    ),
    # Awaiting a custody officer and a treasury officer (the catch-all policy).
    SampleRequest(
        key="period:2025-12",
        kind="reserve.period_close",
        payload={"year": 2025, "month": 12},
        comment="Year-end close of December 2025 (sample data, awaiting approval).",
        approvers=(),
    ),
)
# fmt: on


class Command(BaseCommand):
    help = (
        "Load demo data (assets, wallets, sample users and approvers, approved opening balances "
        "and a transfer, one request awaiting approval), then the sample data the other apps register. "
        "Idempotent; refuses to run with DJANGO_ENV=production unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even with DJANGO_ENV=production.")

    def handle(self, *args, force: bool = False, **options) -> None:
        if getattr(settings, "DJANGO_ENV", "embedded") == "production" and not force:
            raise CommandError(
                "Refusing to load sample data with DJANGO_ENV=production: it creates users with "
                "a published password. Use --force if you really mean it."
            )
        self.created: dict[str, int] = {}
        with transaction.atomic():
            admin = self._users()
            self._assets()
            self._wallets()
            self._approvers(actor=admin)
            self._authenticators()
            self._integration_client()
            self._requests()
            self._prices()
            self._contributed()
        if self.created:
            summary = ", ".join(f"{n} {what}" for what, n in self.created.items())
            self.stdout.write(self.style.SUCCESS(f"Sample data loaded: created {summary}."))
        else:
            self.stdout.write("Sample data already present; nothing changed.")

    def _count(self, what: str, created: bool) -> None:
        if created:
            self.created[what] = self.created.get(what, 0) + 1

    def _ensure(self, model: type[models.Model], lookup: dict, defaults: dict) -> models.Model:
        """Get by ``lookup`` or create through ``full_clean()`` (never an unvalidated save)."""
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = model(**lookup, **defaults)
            obj.full_clean()
            obj.save()
            self._count(str(model._meta.verbose_name_plural), True)
        return obj

    def _users(self):
        User = get_user_model()
        # Hashed once for all sample users: a dozen PBKDF2 runs would cost several seconds.
        password = make_password(DEMO_PASSWORD)
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            admin = User.objects.create_superuser(ADMIN_USERNAME, f"{ADMIN_USERNAME}@fund.example")
            admin.password = password
            admin.save(update_fields=["password"])
            self._count("users", True)
        for sample in SAMPLE_USERS:
            user, created = User.objects.get_or_create(
                username=sample.username,
                defaults={
                    "first_name": sample.first_name,
                    "last_name": sample.last_name,
                    "email": f"{sample.username}@fund.example",
                    "is_staff": sample.is_staff,
                },
            )
            if created:
                user.password = password
                user.save(update_fields=["password"])
                self._count("users", True)
            try:
                group = Group.objects.get(name=sample.role)
            except Group.DoesNotExist:
                raise CommandError(f"Role group {sample.role!r} is missing; run manage.py migrate first.")
            user.groups.add(group)
        return admin

    def _assets(self) -> None:
        for spec in ASSETS:
            fields = {k: v for k, v in spec.items() if k != "symbol"}
            self._ensure(Asset, {"symbol": spec["symbol"]}, fields)

    def _wallets(self) -> None:
        for spec in WALLETS:
            fields = {"name": spec.name, "kind": spec.kind, "network": spec.network}
            wallet = self._ensure(Wallet, {"code": spec.code}, {**fields, "custodian": spec.custodian})
            self._ensure(
                WalletAddress,
                {"network": spec.network, "address": spec.address},
                {"wallet": wallet, "label": "Primary receiving address"},
            )
        # The sample wallets stand for wallets registered in 2025, long past the cooling-off a
        # newly registered destination has to wait out.
        registered = timezone.make_aware(dt.datetime(2025, 1, 10, 9, 0))
        codes = [spec.code for spec in WALLETS]
        Wallet.objects.filter(code__in=codes, created_at__gt=registered).update(created_at=registered)
        WalletAddress.objects.filter(wallet__code__in=codes, created_at__gt=registered).update(
            created_at=registered
        )

    def _approvers(self, actor) -> None:
        """Bootstrap the sample approvers (and the default policies) on a fresh database."""
        if ApproverMembership.objects.exists():
            return
        User = get_user_model()
        assignments = [
            (User.objects.get(username=u.username), Group.objects.get(name=u.role))
            for u in SAMPLE_USERS
            if u.role in roles.APPROVER_ROLES
        ]
        bootstrap_approvers(assignments=assignments, actor=actor)
        self.created["approvers"] = len(assignments)

    def _integration_client(self) -> None:
        """``demo-integration`` with every scope, so that
        ``manage.py issue_api_token demo-integration`` works right after ``make run``."""
        from reserve.api.clients import create_client
        from reserve.models import ApiClient
        from reserve.models.api_clients import Scope

        exists = ApiClient.objects.filter(name="demo-integration").exists()
        if not exists:
            create_client(
                name="demo-integration",
                scopes=list(Scope.values),
                description="Demo integration with every scope (sample data).",
            )
        self._count("integration clients", not exists)

    def _authenticators(self) -> None:
        """A confirmed TOTP device for every sample approver; `manage.py demo_totp USER` prints
        its current code."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        User = get_user_model()
        for sample in SAMPLE_USERS:
            if sample.role in roles.APPROVER_ROLES:
                user = User.objects.get(username=sample.username)
                _device, created = TOTPDevice.objects.get_or_create(
                    user=user, name="Demo authenticator", defaults={"confirmed": True}
                )
                self._count("authenticators", created)

    def _prices(self) -> None:
        """Manual prices of the sample assets and a manual USD/KZT official rate, entered by the
        clerk through the pricing services (flagged manual, audited), so that the offline demo
        values its holdings. The manual source's maximum age is raised to a week so that the
        prices stay usable between demo runs; a clerk enters new ones after that."""
        clerk = get_user_model().objects.get(username=MAKER)
        manual = PriceSource.objects.get(code=MANUAL)
        for symbol, price in SAMPLE_PRICES.items():
            asset = Asset.objects.get(symbol=symbol)
            if Quote.objects.filter(asset=asset, source=manual, note=SAMPLE_PRICE_NOTE).exists():
                continue
            if manual.max_age_seconds < SAMPLE_MANUAL_MAX_AGE:
                manual.max_age_seconds = SAMPLE_MANUAL_MAX_AGE
                manual.save(update_fields=["max_age_seconds"])
            enter_manual_price(asset=asset, price=price, actor=clerk, note=SAMPLE_PRICE_NOTE)
            self._count("manual prices", True)
        if not OfficialRate.objects.filter(source=manual, currency="USD").exists():
            enter_official_rate(currency="USD", rate=SAMPLE_USD_KZT, day=_rate_day(), actor=clerk)
            self._count("official rates", True)

    def _contributed(self) -> None:
        """The sample data of the apps registered with :mod:`reserve.sample_data`, after ours."""
        users = {user.username: user for user in get_user_model().objects.filter(username__in=_usernames())}
        context = SampleContext(
            users=users,
            maker=users[MAKER],
            approvers=tuple(users[u.username] for u in SAMPLE_USERS if u.role in roles.APPROVER_ROLES),
            count=self._count,
        )
        for label, loader in registered_sample_data():
            try:
                loader(context)
            except ValidationError as exc:
                raise CommandError(f"Sample data of {label} was refused: {'; '.join(exc.messages)}")

    def _requests(self) -> None:
        User = get_user_model()
        maker = User.objects.get(username=MAKER)
        approvers = [
            User.objects.get(username=u.username) for u in SAMPLE_USERS if u.role in roles.APPROVER_ROLES
        ]
        by_name = {user.username: user for user in approvers}
        for spec in SAMPLE_REQUESTS:
            key = f"sample:{spec.key}"
            self._count("approval requests", not ApprovalRequest.objects.filter(idempotency_key=key).exists())
            chosen = approvers if spec.approvers is None else [by_name[n] for n in spec.approvers]
            try:
                self._make_and_approve(spec, key, maker, chosen)
            except ValidationError as exc:
                raise CommandError(f"Sample request {key} was refused: {'; '.join(exc.messages)}")

    def _make_and_approve(self, spec: SampleRequest, key: str, maker, chosen: list) -> None:
        """Make the request (or find it by its key) and approve it by ``chosen`` in turn, each
        only while it is pending and only if the engine would accept that approver now."""
        request = create_request(
            kind=spec.kind,
            payload=spec.payload,
            maker=maker,
            comment=spec.comment,
            idempotency_key=key,
        )
        request = approve_in_turn(request, chosen, comment="Checked against the register (sample data).")
        if spec.approvers is None and request.status != RequestStatus.EXECUTED:
            raise CommandError(
                f"Sample request {key} is {request.status}: the approvers in this database "
                "cannot meet its policy. Load the sample data into a fresh database."
            )


def _usernames() -> list[str]:
    return [ADMIN_USERNAME] + [u.username for u in SAMPLE_USERS]


def _rate_day(today: dt.date | None = None) -> dt.date:
    """The latest working day before ``today`` (Almaty) whose rate applies from ``today`` or
    earlier (a day's rate applies from the next working day)."""
    today = today or timezone.localdate()
    day = today - dt.timedelta(days=1)
    while day.weekday() >= 5 or next_working_day(day) > today:
        day -= dt.timedelta(days=1)
    return day
