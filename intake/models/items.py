from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField
from reserve.models import Asset, Network, Wallet


class ItemState(models.TextChoices):
    REGISTERED = "registered", _("registered")
    TRANSFER_PENDING = "transfer_pending", _("transfer pending")
    IN_CUSTODY = "in_custody", _("in custody")
    FORFEITED = "forfeited", _("forfeited")
    RELEASED = "released", _("released")
    CANCELLED = "cancelled", _("cancelled")
    SPLIT = "split", _("split into parts")


class SourceKind(models.TextChoices):
    ADDRESS = "address", _("address")
    EXCHANGE_ACCOUNT = "exchange_account", _("exchange account")


class SeizedItem(models.Model):
    """Coins seized under a court order, followed from registration to forfeiture or release.

    The state changes only through intake's services (each one an approval request); the
    transaction output that brought the coins (``network``, ``txid``, ``vout``) is registered
    once in the whole system, whatever the case.
    """

    order = models.ForeignKey(
        "intake.CourtOrder", on_delete=models.PROTECT, related_name="items", verbose_name=_("court order")
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", verbose_name=_("asset"))
    network = models.CharField(_("network"), max_length=32, choices=Network.choices, editable=False)
    claimed_amount = AmountField(_("claimed amount"))
    source_kind = models.CharField(_("source"), max_length=20, choices=SourceKind.choices)
    source_address = models.CharField(_("source address"), max_length=120, blank=True)
    exchange_account = models.CharField(_("exchange account"), max_length=200, blank=True)
    txid = models.CharField(_("transaction id"), max_length=100, blank=True)
    vout = models.PositiveIntegerField(_("output index"), null=True, blank=True)
    custody_wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="+", verbose_name=_("custody wallet")
    )
    received_amount = AmountField(_("received amount"), null=True, blank=True)
    court_reference = models.CharField(
        _("court's reference"),
        max_length=100,
        blank=True,
        help_text=_(
            "The court case system's own identifier of this item; unique when given, required for "
            "an exchange-account item registered through the API."
        ),
    )
    restriction = models.CharField(
        _("restriction"), max_length=32, blank=True, help_text=_('For example "no_sale"; kept for life.')
    )
    state = models.CharField(
        _("state"), max_length=20, choices=ItemState.choices, default=ItemState.REGISTERED, db_index=True
    )
    discrepancy_explanation = models.TextField(_("discrepancy explanation"), blank=True)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parts",
        verbose_name=_("split from"),
        help_text=_("Set on a part of an item a verdict split: the item the part's coins came from."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("seized item")
        verbose_name_plural = _("seized items")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "txid", "vout"],
                condition=~Q(txid=""),
                name="intake_item_output_registered_once",
            ),
            models.CheckConstraint(
                condition=Q(txid="") | Q(vout__isnull=False), name="intake_item_txid_has_output_index"
            ),
            models.UniqueConstraint(
                fields=["court_reference"],
                condition=~Q(court_reference=""),
                name="intake_item_court_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    def save(self, *args, **kwargs):
        if self.asset_id is not None:
            self.network = self.asset.network
        super().save(*args, **kwargs)

    @property
    def root(self) -> "SeizedItem":
        """The registered item this one descends from through splits (itself when never split)."""
        item = self
        while item.parent_id is not None:
            item = item.parent
        return item
