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
    """What the chain source answered about a transaction of a seized item when a request was
    made: the transaction that brought its coins to the custody wallet (custody intake), or the
    one that carried released coins to their destination (release transfer). The facts the
    approvers decide on and the execution re-checks (no chain I/O ever happens inside the
    deciding transaction). Never changed."""

    item = models.ForeignKey(
        "intake.SeizedItem", on_delete=models.PROTECT, related_name="chain_checks", verbose_name=_("item")
    )
    txid = models.CharField(_("transaction id"), max_length=100)
    addresses = models.JSONField(_("addresses checked"), default=list)
    paid_units = AmountField(_("amount paid to those addresses"))
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


class ReleaseTransfer(ImmutableModel):
    """The on-chain transfer that carried a released item's coins to the destination its
    release request pinned: what the destination received and the network fee the rest paid,
    verified by a chain source (``chain_check``) or, where none serves the network, by the
    clerk's evidence. One per released item, and one payment is never claimed twice. Written
    only by the ``intake.release_transfer`` request's execution; never changed."""

    item = models.OneToOneField(
        "intake.SeizedItem",
        on_delete=models.PROTECT,
        related_name="release_transfer",
        verbose_name=_("item"),
    )
    request = models.ForeignKey(
        "reserve.ApprovalRequest", on_delete=models.PROTECT, related_name="+", verbose_name=_("request")
    )
    txid = models.CharField(_("transaction id"), max_length=100)
    destination = models.CharField(_("destination"), max_length=120)
    released_units = AmountField(_("amount released"))
    sent_units = AmountField(_("amount received by the destination"))
    fee_units = AmountField(_("network fee"))
    chain_check = models.ForeignKey(
        ChainCheck,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("on-chain check"),
    )
    evidence = models.TextField(_("evidence"), blank=True)
    entry = models.ForeignKey(
        "reserve.JournalEntry", on_delete=models.PROTECT, related_name="+", verbose_name=_("journal entry")
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("release transfer")
        verbose_name_plural = _("release transfers")
        constraints = [
            models.UniqueConstraint(
                fields=["txid", "destination"], name="intake_release_transfer_payment_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.txid[:12]}…"
