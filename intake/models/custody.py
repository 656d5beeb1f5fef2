from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from reserve.amounts import AmountField
from reserve.models import ImmutableModel


class CustodyEvent(ImmutableModel):
    """One link of a seized item's chain of custody: append-only and hash-chained
    (see :mod:`intake.custody_chain`)."""

    item = models.ForeignKey(
        "intake.SeizedItem", on_delete=models.PROTECT, related_name="custody_events", verbose_name=_("item")
    )
    sequence = models.PositiveIntegerField(_("sequence"))
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=80)
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    evidence = models.TextField(_("evidence"), blank=True)
    previous_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["item", "sequence"]
        verbose_name = _("custody event")
        verbose_name_plural = _("custody events")
        constraints = [
            models.UniqueConstraint(fields=["item", "sequence"], name="intake_custody_event_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.sequence} {self.action}"


class ChainCheck(ImmutableModel):
    """What the chain source answered about a seized item's transaction when a custody intake
    was requested: the facts the approvers decide on and the execution re-checks (no chain
    I/O ever happens inside the deciding transaction). Never changed."""

    item = models.ForeignKey(
        "intake.SeizedItem", on_delete=models.PROTECT, related_name="chain_checks", verbose_name=_("item")
    )
    txid = models.CharField(_("transaction id"), max_length=100)
    addresses = models.JSONField(_("custody addresses checked"), default=list)
    paid_units = AmountField(_("amount paid to the custody wallet"))
    confirmations = models.PositiveIntegerField(_("confirmations"))
    source = models.CharField(_("chain source"), max_length=40)
    observed_at = models.DateTimeField(_("observed at"))
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked by"),
    )

    class Meta:
        ordering = ["-observed_at", "-id"]
        verbose_name = _("on-chain check")
        verbose_name_plural = _("on-chain checks")

    def __str__(self) -> str:
        return f"{self.item_id} {self.txid[:12]}… {self.confirmations}"
