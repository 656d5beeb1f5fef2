"""Roles are Django groups with permissions, kept in step after every ``migrate``.

Approval power is *not* a permission: the approval engine counts explicit membership of the
approver groups named by a policy, so superusers and staff cannot approve by default.
"""

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext_lazy as _

INTAKE_CLERK = "Intake clerk"
MINING_CLERK = "Mining clerk"
CUSTODY_OFFICER = "Custody officer"
TREASURY_OFFICER = "Treasury officer"
BOARD_MEMBER = "Board member"
AUDITOR = "Auditor"
INTEGRATION_CLIENT = "Integration client"

ROLE_DESCRIPTIONS = {
    INTAKE_CLERK: _("Registers court orders, seized items and custody events in the admin."),
    MINING_CLERK: _("Registers mining sites and output reports in the admin."),
    CUSTODY_OFFICER: _("Approves custody acceptance, transfers and releases."),
    TREASURY_OFFICER: _("Approves transfers, disposals and allow-list changes."),
    BOARD_MEMBER: _("Approves large movements, policy changes and forfeitures."),
    AUDITOR: _("Reads everything, including history and the audit journal; changes nothing."),
    INTEGRATION_CLIENT: _("Service accounts of integrations calling the REST API."),
}

APPROVER_ROLES = (CUSTODY_OFFICER, TREASURY_OFFICER, BOARD_MEMBER)

# Permissions per role as (app_label, codename prefix or full codename). "view" alone grants
# every view_* permission of the app. Apps added later (intake, mining) extend these lists.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    INTAKE_CLERK: [("reserve", "view"), ("intake", "view"), ("intake", "add"), ("intake", "change")],
    MINING_CLERK: [("reserve", "view"), ("mining", "view"), ("mining", "add"), ("mining", "change")],
    CUSTODY_OFFICER: [("reserve", "view"), ("intake", "view")],
    TREASURY_OFFICER: [("reserve", "view"), ("mining", "view")],
    BOARD_MEMBER: [("reserve", "view"), ("intake", "view"), ("mining", "view")],
    # Not otp_totp: a device row holds the approver's TOTP secret.
    AUDITOR: [(app, "view") for app in ("reserve", "intake", "mining", "reports", "auth", "axes")],
    INTEGRATION_CLIENT: [],
}

# Reserve reference data clerks maintain (wallets and their addresses; assets are admin-only).
CLERK_RESERVE_WRITES = [
    ("reserve", "add_wallet"),
    ("reserve", "change_wallet"),
    ("reserve", "add_walletaddress"),
    ("reserve", "change_walletaddress"),
]
ROLE_PERMISSIONS[INTAKE_CLERK] += CLERK_RESERVE_WRITES

# Valuation inputs entered by hand (each through its service, which names the clerk): manual
# prices, official rates and chain observations. Treasury officers also configure the price
# sources and, with custody officers, explain reconciliation differences.
VALUATION_INPUTS = [
    ("reserve", "add_quote"),
    ("reserve", "add_officialrate"),
    ("reserve", "add_chainobservation"),
]
ROLE_PERMISSIONS[INTAKE_CLERK] += VALUATION_INPUTS
ROLE_PERMISSIONS[TREASURY_OFFICER] += [
    *VALUATION_INPUTS,
    ("reserve", "change_pricesource"),
    ("reserve", "change_reconciliationdifference"),
]
ROLE_PERMISSIONS[CUSTODY_OFFICER] += [("reserve", "change_reconciliationdifference")]


# Permissions that a prefix grant ("view") never includes: personal data is granted by its full
# codename only. Apps add theirs in ``ready()`` (intake: ``view_party_pii``).
NAMED_ONLY_PERMISSIONS: set[tuple[str, str]] = set()


def ensure_roles(using: str = DEFAULT_DB_ALIAS, apps=global_apps) -> None:
    """Create the role groups and give them exactly their permissions (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = set()
        for app_label, code in grants:
            qs = Permission.objects.using(using).filter(content_type__app_label=app_label)
            if code in {"view", "add", "change", "delete"}:
                named_only = [name for app, name in NAMED_ONLY_PERMISSIONS if app == app_label]
                qs = qs.filter(codename__startswith=f"{code}_").exclude(codename__in=named_only)
            else:
                qs = qs.filter(codename=code)
            wanted.update(qs.values_list("id", flat=True))
        group.permissions.set(wanted)


def ensure_roles_after_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    # Permissions are created app by app after migrate; wait for the last app's signal so
    # that the permissions of every app exist.
    if sender.label == list(global_apps.get_app_configs())[-1].label:
        ensure_roles(using=using)
