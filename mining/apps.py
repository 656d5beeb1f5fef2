from django.apps import AppConfig
from django.db.models.signals import post_migrate
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
        post_migrate.connect(_ensure_shipped_epochs, dispatch_uid="mining.shipped_epochs")


def _ensure_shipped_epochs(sender, **kwargs) -> None:
    """The shipped network history is reference data, kept like the roles: migration 0002 loads
    it, and after every ``migrate`` (and a ``flush``, which empties every table) the rows that
    are missing are put back. Rows clerks or a chain adapter recorded are never touched."""
    if sender.name != "mining":
        return
    from mining.services import restore_shipped_epochs

    restore_shipped_epochs()
