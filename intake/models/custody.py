from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

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
