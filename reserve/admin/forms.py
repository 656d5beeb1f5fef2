"""Forms of the admin that never write past the approval engine.

*Proposal forms* collect what a maker wants changed in who decides (policies, approvers, the
allow-list, governed settings) and turn it into the payload of one request kind. They only
parse types: every rule lives in the request kind's ``clean_payload``/``check_executable``,
whose field errors :meth:`ProposalForm.add_service_errors` puts back on the form.

:class:`ApproverGroupsGuardedUserChangeForm` keeps Django's approver groups in step with the
engine's approver memberships: the user admin cannot add anyone to, or remove anyone from,
an approver group.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django import forms
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorList
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from reserve.approvals.registry import registered_kinds
from reserve.models import (
    AllowListedAddress,
    ApprovalPolicy,
    ApproverMembership,
    Asset,
    Category,
    GovernedSetting,
    Network,
)
from reserve.roles import APPROVER_ROLES
from reserve.settings_governed import KEYS, governed_value


class ProposalForm(forms.Form):
    """Base of the forms that become a request of ``request_kind``.

    Subclasses declare the fields, :meth:`payload` and, when the proposal is about an existing
    row, :meth:`initial_for` and the ``fixed_fields`` taken from that row unedited.
    """

    request_kind: ClassVar[str]
    title: ClassVar[str | Promise]
    fixed_fields: ClassVar[tuple[str, ...]] = ()

    comment = forms.CharField(
        label=_("comment for the approvers"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    #: Makes a double-clicked submit one request (``create_request``'s idempotency key).
    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, data=None, *, instance=None, initial=None) -> None:
        self.instance = instance
        merged = {"submission": uuid.uuid4().hex, **(initial or {})}
        if instance is not None:
            merged.update(self.initial_for(instance))
        super().__init__(data, initial=merged)
        if instance is not None:
            for name in self.fixed_fields:
                self.fields[name].disabled = True
        for field in self.fields.values():
            field.label = capfirst(field.label)
        self.order_fields([name for name in self.fields if name != "comment"] + ["comment"])

    @classmethod
    def initial_for(cls, instance) -> dict:
        return {}

    @property
    def formsets(self) -> list[forms.BaseFormSet]:
        return []

    @property
    def media(self):
        media = super().media
        for formset in self.formsets:
            media += formset.media
        return media

    def is_valid(self) -> bool:
        results = [super().is_valid()] + [formset.is_valid() for formset in self.formsets]
        return all(results)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(formset.total_error_count() for formset in self.formsets)

    def payload(self) -> dict:
        raise NotImplementedError

    def make_request(self, *, maker, comment: str, idempotency_key: str | None):
        """Make the request through the engine. A kind whose request needs a step before it
        (intake's custody intake checks the chain first) overrides this with its own service."""
        from reserve.approvals.services import create_request

        return create_request(
            kind=self.request_kind,
            payload=self.payload(),
            maker=maker,
            comment=comment,
            idempotency_key=idempotency_key,
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Show the engine's refusal: on the field it names, on the formset of that name
        (``tiers``), or above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        formsets = {formset.prefix: formset for formset in self.formsets}
        for field, errors in error.error_dict.items():
            if field in self.fields:
                self.add_error(field, errors)
            elif field in formsets:
                formsets[field].add_service_errors(errors)
            else:
                self.add_error(None, errors)


def kind_choices() -> list[tuple[str, str]]:
    """Evaluated per form: apps register their kinds in ``ready()``, after the admin loads."""
    return [("", _("Any kind"))] + [(kind.code, f"{kind.label} ({kind.code})") for kind in registered_kinds()]


def category_choices() -> list[tuple[str, str]]:
    return [("", _("Any category"))] + list(Category.choices)


def approver_group_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [(name, name) for name in APPROVER_ROLES]


class TierForm(forms.Form):
    group = forms.ChoiceField(label=_("approver group"), choices=approver_group_choices, required=False)
    required = forms.IntegerField(
        label=_("approvals required (M)"), min_value=1, max_value=99, required=False
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors and bool(cleaned.get("group")) != (cleaned.get("required") is not None):
            raise ValidationError(
                _("Give both the group and the number of approvals, or leave the row blank.")
            )
        return cleaned


class TierFormSet(forms.BaseFormSet):
    """Tiers as rows of group and M; blank rows are dropped."""

    legend = _("Tiers: distinct approvers required from each group (leave a row blank to drop it)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._service_errors: list[str] = []

    def add_service_errors(self, errors) -> None:
        self._service_errors.extend(ValidationError(errors).messages)

    def non_form_errors(self) -> ErrorList:
        errors = list(super().non_form_errors()) + self._service_errors
        return self.error_class(errors, error_class="nonform", renderer=self.renderer)

    def tiers(self) -> list[dict]:
        return [
            {"group": form.cleaned_data["group"], "required": form.cleaned_data["required"]}
            for form in self.forms
            if form.cleaned_data.get("group")
        ]


TierFormSetFactory = forms.formset_factory(
    TierForm, formset=TierFormSet, extra=2, max_num=10, validate_max=True
)


class PolicyProposalForm(ProposalForm):
    """A new policy, or a change to the policy given as ``instance``."""

    request_kind = "reserve.policy_change"
    title = _("Propose an approval policy change")

    name = forms.CharField(label=_("name"), max_length=120)
    priority = forms.IntegerField(
        label=_("priority"),
        min_value=1,
        help_text=_("Policies are tried lowest first; the first that matches decides."),
    )
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    kind = forms.ChoiceField(label=_("request kind"), choices=kind_choices, required=False)
    asset = forms.ModelChoiceField(
        label=_("asset"),
        queryset=Asset.objects.order_by("symbol"),
        to_field_name="symbol",
        required=False,
        empty_label=_("Any asset"),
    )
    min_amount = forms.CharField(
        label=_("from amount"),
        required=False,
        max_length=100,
        help_text=_("In the asset's units, such as 1.5; needs an asset."),
    )
    max_amount = forms.CharField(label=_("below amount"), required=False, max_length=100)
    min_valuation = forms.CharField(
        label=_("from valuation (USD)"), required=False, max_length=40, help_text=_("Such as 1000000.00.")
    )
    max_valuation = forms.CharField(label=_("below valuation (USD)"), required=False, max_length=40)
    source_category = forms.ChoiceField(label=_("source category"), choices=category_choices, required=False)
    destination_category = forms.ChoiceField(
        label=_("destination category"), choices=category_choices, required=False
    )
    maker_may_approve = forms.BooleanField(label=_("maker may approve"), required=False)
    expires_after_hours = forms.IntegerField(
        label=_("requests expire after (hours)"), min_value=1, max_value=24 * 90, initial=24 * 7
    )
    requires_second_factor = forms.BooleanField(
        label=_("second factor required"), required=False, initial=True
    )

    def __init__(self, data=None, *, instance: ApprovalPolicy | None = None, initial=None) -> None:
        super().__init__(data, instance=instance, initial=initial)
        rows = []
        if instance is not None:
            rows = [
                {"group": tier.group.name, "required": tier.required}
                for tier in instance.tiers.select_related("group").order_by("position")
            ]
        self.tiers = TierFormSetFactory(data, prefix="tiers", initial=rows)

    @property
    def formsets(self) -> list[forms.BaseFormSet]:
        return [self.tiers]

    @classmethod
    def initial_for(cls, policy: ApprovalPolicy) -> dict:
        def amount(units: int | None) -> str:
            return policy.asset.format(units) if policy.asset is not None and units is not None else ""

        def valuation(value) -> str:
            return "" if value is None else str(value)

        return {
            "name": policy.name,
            "priority": policy.priority,
            "is_active": policy.is_active,
            "kind": policy.kind,
            "asset": policy.asset,
            "min_amount": amount(policy.min_units),
            "max_amount": amount(policy.max_units),
            "min_valuation": valuation(policy.min_valuation),
            "max_valuation": valuation(policy.max_valuation),
            "source_category": policy.source_category,
            "destination_category": policy.destination_category,
            "maker_may_approve": policy.maker_may_approve,
            "expires_after_hours": int(policy.expires_after.total_seconds() // 3600),
            "requires_second_factor": policy.requires_second_factor,
        }

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "policy": self.instance.pk if self.instance is not None else None,
            "name": data["name"],
            "priority": data["priority"],
            "is_active": data["is_active"],
            "kind": data["kind"],
            "asset": data["asset"].symbol if data["asset"] is not None else "",
            "min_amount": data["min_amount"],
            "max_amount": data["max_amount"],
            "min_valuation": data["min_valuation"],
            "max_valuation": data["max_valuation"],
            "source_category": data["source_category"],
            "destination_category": data["destination_category"],
            "maker_may_approve": data["maker_may_approve"],
            "expires_after_hours": data["expires_after_hours"],
            "requires_second_factor": data["requires_second_factor"],
            "tiers": self.tiers.tiers(),
        }


class AllowListAdditionForm(ProposalForm):
    request_kind = "reserve.allowlist_change"
    title = _("Propose adding an allow-list address")

    network = forms.ChoiceField(label=_("network"), choices=Network.choices)
    address = forms.CharField(label=_("address"), max_length=120)
    label = forms.CharField(label=_("label"), max_length=120)
    counterparty = forms.CharField(label=_("counterparty"), max_length=200, required=False)

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "action": "add",
            "network": data["network"],
            "address": data["address"],
            "label": data["label"],
            "counterparty": data["counterparty"],
        }


class AllowListRemovalForm(ProposalForm):
    request_kind = "reserve.allowlist_change"
    title = _("Propose removing an allow-list address")
    fixed_fields = ("network", "address")

    network = forms.ChoiceField(label=_("network"), choices=Network.choices)
    address = forms.CharField(label=_("address"), max_length=120)

    @classmethod
    def initial_for(cls, entry: AllowListedAddress) -> dict:
        return {"network": entry.network, "address": entry.address}

    def payload(self) -> dict:
        entry = self.instance
        return {
            "action": "remove",
            "network": self.cleaned_data["network"],
            "address": self.cleaned_data["address"],
            "label": entry.label if entry is not None else "",
            "counterparty": entry.counterparty if entry is not None else "",
        }


class ApproverGrantForm(ProposalForm):
    request_kind = "reserve.approver_change"
    title = _("Propose granting approval power")
    membership_action = "grant"

    user = forms.CharField(label=_("user (username)"), max_length=150)
    group = forms.ChoiceField(label=_("approver group"), choices=approver_group_choices)

    def payload(self) -> dict:
        return {
            "action": self.membership_action,
            "user": self.cleaned_data["user"],
            "group": self.cleaned_data["group"],
        }


class AuthenticatorResetForm(ProposalForm):
    """A lost or stolen authenticator: its replacement is decided by the board."""

    request_kind = "reserve.authenticator_reset"
    title = _("Propose replacing an authenticator")
    fixed_fields = ("user",)

    user = forms.CharField(label=_("user (username)"), max_length=150)
    reason = forms.CharField(
        label=_("why (lost, stolen, broken) and how the person's identity was confirmed"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    @classmethod
    def initial_for(cls, user) -> dict:
        return {"user": user.get_username()}

    def payload(self) -> dict:
        return {"user": self.cleaned_data["user"], "reason": self.cleaned_data["reason"]}


class ApproverRevokeForm(ApproverGrantForm):
    title = _("Propose revoking approval power")
    membership_action = "revoke"
    fixed_fields = ("user", "group")

    @classmethod
    def initial_for(cls, membership: ApproverMembership) -> dict:
        return {"user": membership.user.get_username(), "group": membership.group.name}


def setting_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [
        (
            spec.key,
            _("%(label)s (%(key)s): now %(value)d, allowed %(lo)d to %(hi)d")
            % {
                "label": spec.label,
                "key": spec.key,
                "value": governed_value(spec),
                "lo": spec.minimum,
                "hi": spec.maximum,
            },
        )
        for spec in KEYS.values()
    ]


class SettingChangeForm(ProposalForm):
    request_kind = "reserve.setting_change"
    title = _("Propose a setting change")
    fixed_fields = ("key",)

    key = forms.ChoiceField(label=_("setting"), choices=setting_choices)
    value = forms.IntegerField(label=_("new value"))

    @classmethod
    def initial_for(cls, setting: GovernedSetting) -> dict:
        return {"key": setting.key}

    def payload(self) -> dict:
        return {"key": self.cleaned_data["key"], "value": self.cleaned_data["value"]}


class ApproverGroupsGuardedUserChangeForm(UserChangeForm):
    """Refuses adding the user to, or removing them from, an approver group.

    The engine counts :class:`ApproverMembership` only, and the approver-change request keeps the
    Django group in step when it executes; an edit here would make the two drift apart.
    """

    def clean_groups(self):
        groups = self.cleaned_data["groups"]
        before: set[str] = set()
        if self.instance.pk is not None:
            before = set(self.instance.groups.filter(name__in=APPROVER_ROLES).values_list("name", flat=True))
        after = {group.name for group in groups if group.name in APPROVER_ROLES}
        changed = sorted(before ^ after)
        if changed:
            raise ValidationError(
                _(
                    "Approver groups (%(groups)s) change only through an approved approver-change "
                    "request; editing them here would give or take no approval power and would put "
                    "the groups out of step with the approvers the engine counts."
                ),
                code="approver_group",
                params={"groups": ", ".join(changed)},
            )
        return groups
