from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MiningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mining"
    verbose_name = _("State mining")

    def ready(self) -> None:
        from mining import transitions
        from reserve.approvals.policies import register_default_policy
        from reserve.approvals.registry import register_kind

        for kind in transitions.KINDS:
            register_kind(kind())
        for policy in transitions.DEFAULT_POLICIES:
            register_default_policy(policy)

        from reserve.sample_data import register_sample_data

        register_sample_data("mining", "mining.sample_data.load")
