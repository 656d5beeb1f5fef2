from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from reserve.models import ImmutableModel


class CourtDocument(ImmutableModel):
    """A signed court document, stored once under ``<sha256>.<ext>`` (written by
    :func:`intake.documents.store_document`, checked on every read). Never changed."""

    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content_type = models.CharField(_("content type"), max_length=40)
    stored_name = models.CharField(_("stored name"), max_length=80, unique=True, editable=False)
    original_name = models.CharField(
        _("uploaded file name"),
        max_length=255,
        blank=True,
        help_text=_("Kept as data only; never used as a path."),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("court document")
        verbose_name_plural = _("court documents")

    def __str__(self) -> str:
        return self.stored_name
