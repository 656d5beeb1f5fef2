"""Rows that, once written, are never changed: journal entries, postings, lot movements,
audit events, decisions. The application refuses edits here; the database refuses them too
(triggers installed by migrations, see reserve/dbguards.py)."""

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImmutableRowError(PermissionDenied):
    pass


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRowError(
            _("%(model)s rows are immutable and cannot be updated.")
            % {"model": self.model._meta.verbose_name}
        )

    def delete(self):
        raise ImmutableRowError(
            _("%(model)s rows are immutable and cannot be deleted.")
            % {"model": self.model._meta.verbose_name}
        )

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRowError(
            _("%(model)s rows are immutable and cannot be updated.")
            % {"model": self.model._meta.verbose_name}
        )


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError(
                _("%(model)s %(obj)s is immutable; record a correction instead.")
                % {"model": self._meta.verbose_name, "obj": self.pk}
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError(
            _("%(model)s %(obj)s is immutable and cannot be deleted.")
            % {"model": self._meta.verbose_name, "obj": self.pk}
        )
