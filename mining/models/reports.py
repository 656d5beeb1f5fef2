from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField, ExactDecimalField


class ReportState(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    VERIFIED = "verified", _("verified")
    APPROVED = "approved", _("approved")
    POSTED = "posted", _("posted")


class OutputReport(models.Model):
    """A site's output over a period of whole local days ``[period_start, period_end]``."""

    site = models.ForeignKey(
        "mining.Site", on_delete=models.PROTECT, related_name="reports", verbose_name=_("site")
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("Last day of the period, inclusive."))
    state = models.CharField(
        _("state"), max_length=20, choices=ReportState.choices, default=ReportState.DRAFT, db_index=True
    )
    explanation = models.TextField(_("explanation"), blank=True)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "site"]
        verbose_name = _("output report")
        verbose_name_plural = _("output reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="mining_report_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.period_start}…{self.period_end}"


class DailyLine(models.Model):
    """One local day of a site's output. A day is reported once per site, whatever the report."""

    report = models.ForeignKey(
        OutputReport, on_delete=models.PROTECT, related_name="lines", verbose_name=_("report")
    )
    site = models.ForeignKey(
        "mining.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site"), editable=False
    )
    day = models.DateField(_("day"))
    average_hashrate_hs = ExactDecimalField(_("average hashrate (H/s)"))
    uptime_percent = ExactDecimalField(_("uptime (%)"))
    energy_mwh = ExactDecimalField(_("energy (MWh)"))
    curtailment_mwh = ExactDecimalField(_("curtailment (MWh)"))
    btc_gross = AmountField(_("gross output (sats)"))
    pool_fees = AmountField(_("pool fees (sats)"))
    btc_net = AmountField(_("net output (sats)"))
    payout_txids = models.TextField(_("payout transaction ids"), blank=True, help_text=_("One per line."))
    energy_cost_kzt = ExactDecimalField(_("energy cost (KZT)"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["day"]
        verbose_name = _("daily line")
        verbose_name_plural = _("daily lines")
        constraints = [
            models.UniqueConstraint(fields=["site", "day"], name="mining_line_day_once_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day}"

    def save(self, *args, **kwargs):
        if self.report_id is not None:
            self.site_id = self.report.site_id
        super().save(*args, **kwargs)
