"""The approval engine's data: policies with tiers of M-of-N approvers, approver memberships,
requests carrying the exact action they will execute, and immutable decisions."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField
from reserve.models.assets import Asset, Network
from reserve.models.immutable import ImmutableModel
from reserve.models.ledger import Category


class ApprovalPolicy(models.Model):
    """Which approvers a request needs. Policies are tried by ``priority`` (lowest first);
    the first active one that matches wins; a request that matches none is refused.

    Changed only by executing an approved ``reserve.policy_change`` request; ``version`` goes
    up with every change so that requests made under an older version can be told apart.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    priority = models.PositiveIntegerField(_("priority"), unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    kind = models.CharField(_("request kind"), max_length=64, blank=True, help_text=_("Blank: any kind."))
    asset = models.ForeignKey(
        Asset,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("asset"),
        help_text=_("Blank: any asset."),
    )
    min_units = AmountField(_("from amount (smallest units)"), null=True, blank=True)
    max_units = AmountField(_("below amount (smallest units)"), null=True, blank=True)
    valuation_currency = models.CharField(_("valuation currency"), max_length=3, default="USD")
    min_valuation = models.DecimalField(
        _("from valuation"), max_digits=24, decimal_places=2, null=True, blank=True
    )
    max_valuation = models.DecimalField(
        _("below valuation"), max_digits=24, decimal_places=2, null=True, blank=True
    )
    source_category = models.CharField(
        _("source category"), max_length=32, choices=Category.choices, blank=True
    )
    destination_category = models.CharField(
        _("destination category"), max_length=32, choices=Category.choices, blank=True
    )
    maker_may_approve = models.BooleanField(_("maker may approve"), default=False)
    expires_after = models.DurationField(_("requests expire after"))
    requires_second_factor = models.BooleanField(_("second factor required"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority"]
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")

    def __str__(self) -> str:
        return f"{self.priority}. {self.name}"


class PolicyTier(models.Model):
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.PROTECT, related_name="tiers")
    position = models.PositiveSmallIntegerField(_("position"))
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="+", verbose_name=_("approver group")
    )
    required = models.PositiveSmallIntegerField(_("approvals required (M)"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["policy_id", "position"]
        verbose_name = _("policy tier")
        verbose_name_plural = _("policy tiers")
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="tier_position_unique"),
            models.CheckConstraint(condition=Q(required__gte=1), name="tier_required_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.required} of {self.group.name}"


class ApproverMembership(models.Model):
    """Approval power: a user's membership of an approver group as the engine counts it.

    Only memberships granted by an approved request (or the one-time bootstrap) exist here;
    adding someone to a Django group in the admin gives no approval power. A revoked
    membership, or an inactive user, stops counting at once, also for pending requests.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approver_memberships"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("granted at"))
    granted_by_request = models.ForeignKey(
        "ApprovalRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by_request = models.ForeignKey(
        "ApprovalRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["group__name", "user__username"]
        verbose_name = _("approver membership")
        verbose_name_plural = _("approver memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_membership_per_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    EXECUTED = "executed", _("Approved and executed")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class ApprovalRequest(models.Model):
    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RequestStatus.choices,
        default=RequestStatus.PENDING,
        db_index=True,
    )
    title = models.CharField(_("title"), max_length=255)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requests_made",
        verbose_name=_("maker"),
    )
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    payload = models.JSONField(_("action"))
    payload_digest = models.CharField(_("action digest (SHA-256)"), max_length=64)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    comment = models.TextField(_("maker's comment"), blank=True)
    # Facts the policies match on, derived from the payload when the request is made.
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, null=True, blank=True)
    amount_units = AmountField(_("amount (smallest units)"), null=True, blank=True)
    valuation = models.DecimalField(_("valuation"), max_digits=24, decimal_places=2, null=True, blank=True)
    valuation_source = models.CharField(
        _("valuation source"),
        max_length=255,
        blank=True,
        help_text=_("The snapshot and price the value came from."),
    )
    source_category = models.CharField(max_length=32, blank=True)
    destination_category = models.CharField(max_length=32, blank=True)
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.PROTECT, related_name="requests")
    policy_version = models.PositiveIntegerField(_("policy version"))
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def reference(self) -> str:
        return f"REQ-{self.pk:06d}"


class Verdict(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class Decision(ImmutableModel):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    verdict = models.CharField(_("verdict"), max_length=8, choices=Verdict.choices)
    comment = models.TextField(_("comment"), blank=True)
    digest = models.CharField(_("digest shown to the approver"), max_length=64)
    revision = models.PositiveIntegerField(_("request revision"))
    second_factor = models.BooleanField(_("second factor verified"), default=False)
    decided_at = models.DateTimeField(_("decided at"))
    via = models.CharField(_("entry point"), max_length=16, default="screen")

    class Meta:
        ordering = ["decided_at", "id"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver", "revision"], name="one_decision_per_approver_and_revision"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.verdict} {self.request_id}"


class AllowListedAddress(models.Model):
    """An address outside the fund that transfers may go to, usable from ``usable_from``
    (the cooling-off period after approval). Added and removed only through requests."""

    network = models.CharField(_("network"), max_length=32, choices=Network.choices)
    address = models.CharField(_("address"), max_length=120)
    label = models.CharField(_("label"), max_length=120)
    counterparty = models.CharField(_("counterparty"), max_length=200, blank=True)
    added_at = models.DateTimeField(_("added at"))
    usable_from = models.DateTimeField(_("usable from"))
    added_by_request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="+")
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by_request = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["network", "label"]
        verbose_name = _("allow-listed address")
        verbose_name_plural = _("allow-listed addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "address"],
                condition=Q(removed_at__isnull=True),
                name="allowlist_one_active_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.address})"


class GovernedSetting(models.Model):
    """Settings that only an approved request may change (e.g. the allow-list cooling-off)."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    value = models.JSONField(_("value"))
    changed_at = models.DateTimeField(_("changed at"))
    changed_by_request = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("governed setting")
        verbose_name_plural = _("governed settings")

    def __str__(self) -> str:
        return self.key
