from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from reserve.models.immutable import ImmutableModel


class AuditEvent(ImmutableModel):
    """The audit journal: one row per business action, written in the action's transaction.

    ``action`` is a dotted code such as ``reserve.entry.posted``.
    """

    action = models.CharField(_("action"), max_length=80, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    subject_content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject_object_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("subject_content_type", "subject_object_id")
    subject_repr = models.CharField(_("subject"), max_length=255, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["subject_content_type", "subject_object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_repr}"
