"""The court side of a seizure: courts, criminal cases, their parties and court orders."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Court(models.Model):
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("court")
        verbose_name_plural = _("courts")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Case(models.Model):
    court = models.ForeignKey(Court, on_delete=models.PROTECT, related_name="cases", verbose_name=_("court"))
    number = models.CharField(_("case number"), max_length=60)
    investigating_authority = models.CharField(_("investigating authority"), max_length=200)
    opened_on = models.DateField(_("opened on"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["court", "number"]
        verbose_name = _("criminal case")
        verbose_name_plural = _("criminal cases")
        constraints = [
            models.UniqueConstraint(fields=["court", "number"], name="intake_case_number_unique_per_court"),
        ]

    def __str__(self) -> str:
        return self.number


class PartyRole(models.TextChoices):
    SUSPECT = "suspect", _("suspect")
    OWNER = "owner", _("lawful owner")
    VICTIM = "victim", _("victim")


#: Codename of the permission that shows a party's name and identity document.
PII_PERMISSION = "intake.view_party_pii"


class Party(models.Model):
    """A person in a case. Name and identity document are personal data: only users with
    ``intake.view_party_pii`` see them (``__str__`` never shows them)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="parties", verbose_name=_("case"))
    role = models.CharField(_("role"), max_length=20, choices=PartyRole.choices)
    name = models.CharField(_("name"), max_length=200)
    identity_document_number = models.CharField(_("identity document number"), max_length=60, blank=True)
    history = HistoricalRecords()

    PII_FIELDS = ("name", "identity_document_number")

    class Meta:
        ordering = ["case", "id"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        permissions = [("view_party_pii", _("Can see the personal data of parties"))]

    def __str__(self) -> str:
        return f"{self.get_role_display()} #{self.pk}"


class OrderKind(models.TextChoices):
    ARREST = "arrest", _("arrest (seizure) of property")
    CONFISCATION = "confiscation", _("confiscation verdict")
    RELEASE = "release", _("release / return to owner")
    AMENDMENT = "amendment", _("amendment")


class CourtOrder(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="orders", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=20, choices=OrderKind.choices)
    number = models.CharField(_("order number"), max_length=60)
    issued_on = models.DateField(_("issued on"))
    in_force_on = models.DateField(_("in legal force on"), null=True, blank=True)
    appeal_deadline = models.DateField(_("appeal deadline"), null=True, blank=True)
    appeal_lodged = models.BooleanField(_("appeal lodged"), default=False)
    appellate_ruling_on = models.DateField(
        _("appellate ruling on"),
        null=True,
        blank=True,
        help_text=_("The day the appellate court ruled on a lodged appeal, leaving the order in force."),
    )
    court_reference = models.CharField(
        _("court's reference"),
        max_length=100,
        blank=True,
        help_text=_("The court case system's own identifier of this order; unique when given."),
    )
    document = models.ForeignKey(
        "intake.CourtDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("signed document"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("court order")
        verbose_name_plural = _("court orders")
        constraints = [
            models.UniqueConstraint(
                fields=["court_reference"],
                condition=~Q(court_reference=""),
                name="intake_order_court_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(in_force_on__isnull=True) | Q(in_force_on__gte=models.F("issued_on")),
                name="intake_order_in_force_not_before_issued",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"
