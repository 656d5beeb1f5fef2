"""Integration clients of the REST API: their credentials, the log of their calls, and the
stored replies that make a retried POST safe (DESIGN §7, issue #4).

A token is shown once when issued and stored only as its SHA-256 hash and a short visible
prefix, so neither the database nor the admin can give it back.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.models.immutable import ImmutableModel


class Scope(models.TextChoices):
    """What a client's tokens may do. ``intake:write`` and ``mining:write`` are reserved for the
    intake and mining endpoints."""

    HOLDINGS_READ = "holdings:read", _("Read assets, wallets, balances, holdings and lots")
    REQUESTS_READ = "requests:read", _("Read approval requests")
    REQUESTS_WRITE = "requests:write", _("Create, amend and cancel approval requests")
    REQUESTS_DECIDE = "requests:decide", _("Approve or reject approval requests")
    INTAKE_WRITE = "intake:write", _("Register court orders and seized items")
    MINING_WRITE = "mining:write", _("Report mining output")
    VALUATIONS_READ = "valuations:read", _("Read valuations: prices, rates and NAV")


class ApiClient(models.Model):
    """An integration (court case system, mining site, accounting, ...) and the user it acts as.

    Requests and decisions made through the API are made by ``user``: a service user in the
    "Integration client" group, or an existing person (an approver deciding from another system).
    """

    name = models.SlugField(_("name"), max_length=64, unique=True, help_text=_("e.g. demo-integration"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_client",
        verbose_name=_("acts as"),
    )
    description = models.TextField(_("description"), blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(is_active=False),
                name="apiclient_revoked_is_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class ApiToken(models.Model):
    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, related_name="tokens", verbose_name=_("client")
    )
    prefix = models.CharField(
        _("prefix"), max_length=16, db_index=True, help_text=_("The token's first characters.")
    )
    token_hash = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("rotated from"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="apitoken_expires_after_creation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.client})"


class ApiCallLog(ImmutableModel):
    """One row per API call made with a client's token (also refused ones). Append-only."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("client")
    )
    token_prefix = models.CharField(_("token prefix"), max_length=16, blank=True)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(_("status"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=128, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API call")
        verbose_name_plural = _("API call log")
        indexes = [models.Index(fields=["client", "at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class IdempotencyRecord(models.Model):
    """The reply to a POST made with an ``Idempotency-Key``, kept 24 hours.

    The row is inserted (claimed) before the action runs, in its own transaction, under the
    unique (user, key) constraint: a concurrent duplicate finds the claim and is told to wait.
    ``status_code`` and ``response_body`` are filled in when the action has answered.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=128)
    fingerprint = models.CharField(_("SHA-256 of method, path and body"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True)
    response_headers = models.JSONField(
        _("response headers"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    created_at = models.DateTimeField(_("created at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"

    @property
    def completed(self) -> bool:
        return self.completed_at is not None
