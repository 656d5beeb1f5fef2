from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportVerification(models.Model):
    """The figures of one verification of an output report, frozen when a clerk verified it.

    ``figures`` is the JSON snapshot of :func:`mining.selectors.verify_report` (exact strings
    and integers, per day and in total) and ``digest`` its SHA-256: the acceptance request pins
    the digest, so the approvers decide on the very figures that were verified. A report
    returned to draft and verified again gets a new row; the old ones stay as history.
    """

    report = models.ForeignKey(
        "mining.OutputReport",
        on_delete=models.PROTECT,
        related_name="verifications",
        verbose_name=_("report"),
    )
    figures = models.JSONField(_("figures"))
    digest = models.CharField(_("digest"), max_length=64)
    exceeds_tolerance = models.BooleanField(_("beyond tolerance"))
    explanation = models.TextField(_("explanation"), blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"))

    class Meta:
        ordering = ["report", "-verified_at", "-id"]
        verbose_name = _("report verification")
        verbose_name_plural = _("report verifications")

    def __str__(self) -> str:
        return f"{self.report_id} {self.digest[:12]}"
