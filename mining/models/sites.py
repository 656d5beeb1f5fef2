from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import ExactDecimalField
from reserve.models import Network, Wallet


class EnergySource(models.TextChoices):
    HYDRO = "hydro", _("hydro")
    GAS = "gas", _("gas")
    COAL = "coal", _("coal")
    OTHER = "other", _("other")


class PayoutScheme(models.TextChoices):
    FPPS = "fpps", _("FPPS")
    PPS_PLUS = "pps_plus", _("PPS+")
    PPLNS = "pplns", _("PPLNS")
    SOLO = "solo", _("solo")


class SiteStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")
    DECOMMISSIONED = "decommissioned", _("decommissioned")


class Site(models.Model):
    """A licensed mining data centre whose output feeds the reserve."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    region = models.CharField(_("region"), max_length=120)
    operator = models.CharField(_("operator"), max_length=200)
    licence_number = models.CharField(_("licence number"), max_length=60)
    licence_date = models.DateField(_("licence date"))
    energy_source = models.CharField(_("energy source"), max_length=10, choices=EnergySource.choices)
    power_capacity_mw = ExactDecimalField(_("power capacity (MW)"))
    commissioned_on = models.DateField(_("commissioning date"))
    pool_name = models.CharField(_("pool"), max_length=120)
    payout_scheme = models.CharField(_("payout scheme"), max_length=10, choices=PayoutScheme.choices)
    pool_fee_percent = ExactDecimalField(
        _("pool fee (%)"),
        null=True,
        blank=True,
        help_text=_("The pool's FPPS fee, used when a statement does not state it."),
    )
    network = models.CharField(_("network"), max_length=32, choices=Network.choices, default=Network.BITCOIN)
    payout_address = models.CharField(_("payout address"), max_length=120)
    custody_wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="+", verbose_name=_("custody wallet")
    )
    tolerance_percent = ExactDecimalField(
        _("tolerance (%)"), help_text=_("Deviation from the expected output that needs no explanation.")
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Almaty")
    status = models.CharField(
        _("status"), max_length=20, choices=SiteStatus.choices, default=SiteStatus.ACTIVE, db_index=True
    )
    reporting_client = models.ForeignKey(
        "reserve.ApiClient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reporting API client"),
        help_text=_("The site's own integration: the only API client that may report its output."),
    )
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("mining site")
        verbose_name_plural = _("mining sites")
        constraints = [
            models.UniqueConstraint(fields=["licence_number"], name="mining_site_licence_once"),
        ]

    def __str__(self) -> str:
        return self.name


class Fleet(models.Model):
    """Machines of one model at a site; their nominal hashrate bounds what a day can report."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="fleets", verbose_name=_("site"))
    machine_model = models.CharField(_("machine model"), max_length=120)
    count = models.PositiveIntegerField(_("number of machines"))
    nominal_hashrate_ths = ExactDecimalField(_("nominal hashrate per machine (TH/s)"))
    efficiency_j_per_th = ExactDecimalField(_("efficiency (J/TH)"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "machine_model"]
        verbose_name = _("fleet")
        verbose_name_plural = _("fleets")

    def __str__(self) -> str:
        return f"{self.count} × {self.machine_model}"
