from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReserveConfig(AppConfig):
    name = "reserve"
    verbose_name = _("Reserve")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from reserve import amounts, dbguards, roles, signals
        from reserve.approvals.policies import install_defaults_after_migrate
        from reserve.kinds import register_reserve_kinds
        from reserve.kinds.default_policies import register_reserve_default_policies

        register_reserve_kinds()
        register_reserve_default_policies()
        signals.connect()
        amounts.install_sqlite_functions()
        dbguards.install_sqlite_functions()
        post_migrate.connect(roles.ensure_roles_after_migrate, dispatch_uid="reserve.roles")
        post_migrate.connect(install_defaults_after_migrate, dispatch_uid="reserve.default_policies")
        post_migrate.connect(_install_schedules, dispatch_uid="reserve.schedules")
        post_migrate.connect(_install_price_sources, dispatch_uid="reserve.price_sources")
        from reserve.approvals.valuation import register_valuer
        from reserve.valuations.services import value_of_units

        register_valuer(value_of_units)


def _install_schedules(sender, **kwargs) -> None:
    """After reserve's migrations (django-celery-beat's tables exist by then)."""
    if sender.name != "reserve":
        return
    from reserve.schedules import install_default_schedules

    install_default_schedules()


def _install_price_sources(sender, **kwargs) -> None:
    if sender.name != "reserve":
        return
    from reserve.pricing.services import install_default_sources

    install_default_sources()
