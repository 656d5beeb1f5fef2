"""Pool payout verification's records (issue #19): the pools' statements and the receipts at a
site's payout address.

**Statements are insert-only.** A statement and its lines are written once by
:func:`mining.payouts.import_pool_statement` and never changed or deleted (database triggers
refuse it, as for the ledger). A pool that corrects a statement sends a new file: it is imported
as a new statement, and for every day it covers it **supersedes** the older statements of the
site (the most recently imported statement that has lines for a day gives that day's figures).
The old one stays as evidence of what the pool said first. The same file (same SHA-256) imported
twice for a site is one statement.

**Receipts** are what arrived at the payout address, one row per transaction output, observed
through a chain source or entered by a clerk with the txid. Their confirmations grow, so a known
receipt's confirmations (and block, once mined) are updated when observed again; nothing else.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField, ExactDecimalField

#: ``PayoutReceipt.source`` of a receipt entered by a clerk (otherwise a chain source's code).
CLERK = "clerk"


class StatementFormat(models.TextChoices):
    CSV = "csv", _("CSV (the fund's statement format)")
    BINANCE = "binance", _("Binance Pool earnings list (JSON)")


class PoolStatement(models.Model):
    """One imported statement file of a site's pool, covering ``[first_day, last_day]``."""

    site = models.ForeignKey(
        "mining.Site", on_delete=models.PROTECT, related_name="pool_statements", verbose_name=_("site")
    )
    format = models.CharField(_("format"), max_length=20, choices=StatementFormat.choices)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    sha256 = models.CharField(_("file SHA-256"), max_length=64)
    size_bytes = models.PositiveBigIntegerField(_("file size (bytes)"))
    fee_percent = ExactDecimalField(
        _("pool fee (%)"),
        null=True,
        blank=True,
        help_text=_("The FPPS fee the statement states, or else the site's configured fee at import."),
    )
    imported_at = models.DateTimeField(_("imported at"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-imported_at", "-id"]
        verbose_name = _("pool statement")
        verbose_name_plural = _("pool statements")
        constraints = [
            models.UniqueConstraint(fields=["site", "sha256"], name="mining_statement_file_once"),
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")), name="mining_statement_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.first_day}…{self.last_day} ({self.format})"


class PoolStatementLine(models.Model):
    """One line of a statement; gross and fee are empty where the format does not give them."""

    statement = models.ForeignKey(
        PoolStatement, on_delete=models.PROTECT, related_name="lines", verbose_name=_("statement")
    )
    row = models.PositiveIntegerField(_("row"))
    day = models.DateField(_("day"))
    gross_sats = AmountField(_("gross (sats)"), null=True, blank=True)
    fee_sats = AmountField(_("pool fee (sats)"), null=True, blank=True)
    net_sats = AmountField(_("net (sats)"))
    payout_txid = models.CharField(_("payout transaction id"), max_length=64, blank=True)
    kind = models.CharField(_("income type"), max_length=40, blank=True)
    status = models.CharField(_("payment status"), max_length=40, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["statement", "day", "row"]
        verbose_name = _("pool statement line")
        verbose_name_plural = _("pool statement lines")
        constraints = [
            models.UniqueConstraint(fields=["statement", "row"], name="mining_statement_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.net_sats}"


class PayoutReceipt(models.Model):
    """One output paid to a site's payout address."""

    site = models.ForeignKey(
        "mining.Site", on_delete=models.PROTECT, related_name="payout_receipts", verbose_name=_("site")
    )
    txid = models.CharField(_("transaction id"), max_length=64)
    vout = models.PositiveIntegerField(_("output index"))
    units = AmountField(_("amount (sats)"))
    confirmations = models.PositiveIntegerField(_("confirmations"))
    block_time = models.DateTimeField(_("block time"), null=True, blank=True)
    block_height = models.PositiveIntegerField(_("block height"), null=True, blank=True)
    coinbase = models.BooleanField(_("coinbase output"), default=False)
    source = models.CharField(
        _("source"), max_length=40, help_text=_("The chain source's code, or “clerk” for an entry.")
    )
    observed_at = models.DateTimeField(_("observed at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "block_time", "txid", "vout"]
        verbose_name = _("payout receipt")
        verbose_name_plural = _("payout receipts")
        constraints = [
            models.UniqueConstraint(fields=["site", "txid", "vout"], name="mining_receipt_output_once"),
        ]

    def __str__(self) -> str:
        return f"{self.txid}:{self.vout}"
