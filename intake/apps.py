from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "intake"
    verbose_name = _("Seizure intake")

    def ready(self) -> None:
        from reserve import roles

        # Parties' names and identity documents: intake clerks record them; a "view" grant
        # (auditors, officers) does not include them.
        roles.NAMED_ONLY_PERMISSIONS.add(("intake", "view_party_pii"))
        pii = ("intake", "view_party_pii")
        if pii not in roles.ROLE_PERMISSIONS[roles.INTAKE_CLERK]:
            roles.ROLE_PERMISSIONS[roles.INTAKE_CLERK].append(pii)

        from intake import transitions
        from reserve.approvals.policies import register_default_policy
        from reserve.approvals.registry import register_kind

        for kind in transitions.KINDS:
            register_kind(kind())
        for policy in transitions.DEFAULT_POLICIES:
            register_default_policy(policy)

        from reserve.sample_data import register_sample_data

        register_sample_data("intake", "intake.sample_data.load")
