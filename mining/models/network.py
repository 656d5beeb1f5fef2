from fractions import Fraction

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mining.chaindata import Epoch, difficulty_from_bits, parse_bits
from reserve.models import Network

_BITS = RegexValidator(r"^[0-9a-f]{8}$", _("Eight lower-case hexadecimal digits, e.g. 17034219."))


class NetworkEpoch(models.Model):
    """One difficulty retarget epoch of a proof-of-work network (2016 blocks on Bitcoin).

    The exact difficulty is derived from ``bits``; ``published_difficulty`` is the decimal a
    node prints, kept to cross-check. ``start_time`` is the timestamp of the epoch's first
    block (UTC), empty while nobody has recorded it.
    """

    network = models.CharField(_("network"), max_length=32, choices=Network.choices, default=Network.BITCOIN)
    epoch = models.PositiveIntegerField(_("epoch"))
    start_height = models.PositiveIntegerField(_("start height"))
    start_time = models.DateTimeField(
        _("start time"), null=True, blank=True, help_text=_("Timestamp of the epoch's first block (UTC).")
    )
    bits = models.CharField(
        _("bits"), max_length=8, validators=[_BITS], help_text=_("Compact target (nBits).")
    )
    published_difficulty = models.CharField(_("published difficulty"), max_length=40, blank=True)
    first_block_hash = models.CharField(_("first block hash"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["network", "epoch"]
        verbose_name = _("network epoch")
        verbose_name_plural = _("network epochs")
        constraints = [
            models.UniqueConstraint(fields=["network", "epoch"], name="mining_epoch_once_per_network"),
            models.UniqueConstraint(fields=["network", "start_height"], name="mining_epoch_height_once"),
        ]

    def __str__(self) -> str:
        return f"{self.network} #{self.epoch}"

    @property
    def difficulty(self) -> Fraction:
        return difficulty_from_bits(parse_bits(self.bits))

    def as_epoch(self) -> Epoch:
        return Epoch(self.epoch, self.start_height, self.start_time, parse_bits(self.bits))
