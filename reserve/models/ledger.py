"""The double-entry ledger: accounts by (wallet, legal category, asset), immutable journal
entries and postings, materialised balances, per-day closing balances, lots and periods."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField
from reserve.models.assets import Asset, Wallet
from reserve.models.immutable import ImmutableModel


class Category(models.TextChoices):
    CUSTODY_PENDING = "custody:pending", _("Custody: pending (case open, not state property)")
    RESERVE_FORFEITED = "reserve:forfeited", _("Reserve: forfeited")
    RESERVE_MINED = "reserve:mined", _("Reserve: mined")
    RESTRICTED = "restricted", _("Restricted")
    RELEASED = "released", _("Released (returned)")
    DISPOSED = "disposed", _("Disposed (sold)")
    FEES = "fees", _("Network fees")
    EXTERNAL = "external", _("External (counterparty)")


#: Categories whose coins the fund holds in its wallets (the rest have left custody).
HELD_CATEGORIES = (
    Category.CUSTODY_PENDING,
    Category.RESERVE_FORFEITED,
    Category.RESERVE_MINED,
    Category.RESTRICTED,
)
#: Categories that count as state reserve assets.
RESERVE_CATEGORIES = (Category.RESERVE_FORFEITED, Category.RESERVE_MINED, Category.RESTRICTED)


class Account(models.Model):
    """A balance of one asset, in one legal category, in one wallet.

    ``external`` accounts stand for the outside world (no wallet) and may go negative;
    every other category is refused below zero inside the posting transaction and by a
    CHECK constraint.
    """

    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("wallet"),
    )
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("asset")
    )
    balance = AmountField(_("balance (smallest units)"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["balance"])

    class Meta:
        ordering = ["asset__symbol", "wallet__code", "category"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "category", "asset"],
                condition=Q(wallet__isnull=False),
                name="account_unique_per_wallet",
            ),
            models.UniqueConstraint(
                fields=["category", "asset"],
                condition=Q(wallet__isnull=True),
                name="account_unique_external",
            ),
            models.CheckConstraint(
                condition=Q(category="external", wallet__isnull=True)
                | (~Q(category="external") & Q(wallet__isnull=False)),
                name="account_external_has_no_wallet",
            ),
            models.CheckConstraint(
                condition=Q(category="external") | Q(balance__gte=0),
                name="account_balance_non_negative",
            ),
        ]

    def __str__(self) -> str:
        where = self.wallet.code if self.wallet_id else "—"
        return f"{where} / {self.category} / {self.asset.symbol}"

    @property
    def may_go_negative(self) -> bool:
        return self.category == Category.EXTERNAL


class JournalSequence(models.Model):
    """Gapless per-year numbering: the row is locked while an entry takes its number."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("journal sequence")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class JournalEntry(ImmutableModel):
    number = models.CharField(_("number"), max_length=20, unique=True)
    year = models.PositiveIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence in year"))
    effective_at = models.DateTimeField(_("effective at"), db_index=True)
    posted_at = models.DateTimeField(_("posted at"))
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("posted by"),
    )
    reason = models.CharField(_("reason"), max_length=64, db_index=True)
    memo = models.TextField(_("memo"), blank=True)
    source_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source document type"),
    )
    source_object_id = models.CharField(_("source document id"), max_length=64, blank=True)
    source = GenericForeignKey("source_content_type", "source_object_id")
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses entry"),
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=128, null=True, blank=True, unique=True
    )
    request = models.ForeignKey(
        "reserve.ApprovalRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("approved by request"),
    )
    # No history table: an entry is written once and never changed, so it is its own history
    # (posted_at, posted_by); the admin's history page reads them from the row.

    class Meta:
        ordering = ["-year", "-sequence"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="entry_gapless_number"),
        ]
        indexes = [models.Index(fields=["source_content_type", "source_object_id"])]

    def __str__(self) -> str:
        return self.number

    @property
    def reason_label(self) -> str:
        from reserve.ledger.reasons import reason_label

        return reason_label(self.reason)


class Posting(ImmutableModel):
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="postings", verbose_name=_("entry")
    )
    line = models.PositiveIntegerField(_("line"))
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="postings", verbose_name=_("account")
    )
    amount = AmountField(_("amount (smallest units)"))
    balance_after = AmountField(_("account balance after"))
    effective_at = models.DateTimeField(_("effective at"))
    # No history table either: written once with its entry (see JournalEntry).

    class Meta:
        ordering = ["entry_id", "line"]
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [
            models.UniqueConstraint(fields=["entry", "line"], name="posting_line_unique"),
            models.CheckConstraint(condition=~Q(amount=0), name="posting_amount_nonzero"),
        ]
        indexes = [models.Index(fields=["account", "effective_at", "id"])]

    def __str__(self) -> str:
        return f"{self.entry.number}#{self.line}"


class AccountDay(models.Model):
    """Movement and closing balance of an account on one local (Asia/Almaty) day.

    Holdings as of a date read one row per account (the latest day on or before it), so they
    cost the same at a thousand postings and at millions.
    """

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="days", verbose_name=_("account")
    )
    day = models.DateField(_("day"))
    delta = AmountField(_("movement"), default=0)
    closing = AmountField(_("closing balance"), default=0)

    class Meta:
        ordering = ["account_id", "day"]
        verbose_name = _("account day")
        verbose_name_plural = _("account days")
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="account_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}"


class Lot(models.Model):
    """Units that entered an account together, naming where they came from.

    A root lot (no parent) is opened by an inflow from outside the fund and names its origin
    (a seized item, a mining output, an opening balance). Moving units between accounts
    consumes lots FIFO and opens child lots in the destination that keep the root: one per
    root, restriction and origin the entry brought in, however many lots it took them from.
    Such a lot names the lot of its first units as ``parent``; the movements of the entry that
    opened it (``opened_by``) name every lot taken.
    """

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="lots", verbose_name=_("account")
    )
    opened_by = models.ForeignKey(
        Posting, on_delete=models.PROTECT, related_name="opened_lots", verbose_name=_("opened by")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("split from"),
        help_text=_(
            "The lot the first of these units were taken from. Units of one original lot that a "
            "single entry took from several lots arrive in one lot; that entry lists every lot it took."
        ),
    )
    root = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="descendants",
        verbose_name=_("original lot"),
    )
    origin_kind = models.CharField(_("origin kind"), max_length=64)
    origin_label = models.CharField(_("origin"), max_length=255)
    origin_content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    origin_object_id = models.CharField(max_length=64, blank=True)
    origin = GenericForeignKey("origin_content_type", "origin_object_id")
    restriction = models.CharField(
        _("restriction"),
        max_length=32,
        blank=True,
        help_text=_("A restriction such as no_sale stays with the units for life."),
    )
    amount = AmountField(_("amount opened"))
    remaining = AmountField(_("remaining"))
    opened_at = models.DateTimeField(_("opened at"))
    history = HistoricalRecords(excluded_fields=["remaining"])

    class Meta:
        ordering = ["account_id", "id"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0), name="lot_remaining_non_negative"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_amount_positive"),
        ]
        indexes = [
            # FIFO over the open lots only: consuming reads the first lots it takes, however many
            # emptied lots the account has behind it.
            models.Index(fields=["account", "id"], condition=Q(remaining__gt=0), name="lot_open_fifo"),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.origin_label}"


class LotMovement(ImmutableModel):
    """Units taken out of a lot by a posting (append-only)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="lot_movements")
    amount = AmountField(_("amount taken"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("lot movement")
        verbose_name_plural = _("lot movements")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_movement_positive"),
        ]


class Period(models.Model):
    """A calendar month of the ledger (Asia/Almaty dates). A closed period takes no entries."""

    year = models.PositiveIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-year", "-month"]
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        constraints = [
            models.UniqueConstraint(fields=["year", "month"], name="period_unique_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="period_month_range"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None
