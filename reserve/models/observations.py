"""What the chain says, and where it disagrees with the ledger (issue #17).

An observation is a balance seen on chain for a wallet (and optionally one of its addresses),
by an adapter or recorded by a clerk from an offline source with its evidence; it is written
once. A reconciliation compares the ledger's balance of the wallet with the latest observation
and records every difference for review, with both figures; nothing is ever adjusted by it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField
from reserve.models.assets import Asset, Wallet
from reserve.models.immutable import ImmutableModel


class ChainObservation(ImmutableModel):
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="observations", verbose_name=_("wallet")
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", verbose_name=_("asset"))
    balance = AmountField(_("balance seen on chain (smallest units)"))
    observed_at = models.DateTimeField(_("observed at"), db_index=True)
    block_height = models.PositiveIntegerField(_("block height"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=32, help_text=_("The adapter (esplora, bitcoind, ethereum) or manual.")
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    evidence = models.TextField(
        _("evidence"), blank=True, help_text=_("For a manual observation: where and how it was read.")
    )

    class Meta:
        ordering = ["-observed_at", "-id"]
        get_latest_by = "observed_at"
        verbose_name = _("chain observation")
        verbose_name_plural = _("chain observations")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="observation_non_negative")
        ]

    def __str__(self) -> str:
        return f"{self.wallet} {self.asset}: {self.asset.format(self.balance)} ({self.source})"


class DifferenceStatus(models.TextChoices):
    OPEN = "open", _("open")
    EXPLAINED = "explained", _("explained")


class ReconciliationDifference(models.Model):
    """A wallet whose ledger balance differs from what the chain showed: both figures, for a
    person to explain. Never fixed by the system."""

    found_at = models.DateTimeField(_("found at"), db_index=True)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+", verbose_name=_("wallet"))
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", verbose_name=_("asset"))
    ledger_balance = AmountField(_("ledger balance"))
    chain_balance = AmountField(_("chain balance"))
    difference = AmountField(_("chain minus ledger"))
    observation = models.ForeignKey(
        ChainObservation, on_delete=models.PROTECT, related_name="differences", verbose_name=_("observation")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DifferenceStatus.choices, default=DifferenceStatus.OPEN
    )
    explanation = models.TextField(_("explanation"), blank=True)
    explained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("explained by"),
    )
    explained_at = models.DateTimeField(_("explained at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name = _("reconciliation difference")
        verbose_name_plural = _("reconciliation differences")
        constraints = [
            # One finding per observation and wallet: re-running a reconciliation adds nothing.
            models.UniqueConstraint(
                fields=["observation", "wallet", "asset"], name="difference_once_per_observation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wallet} {self.asset}: {self.difference:+d}"
