from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Network(models.TextChoices):
    BITCOIN = "bitcoin", _("Bitcoin mainnet")
    BITCOIN_TESTNET = "bitcoin-testnet", _("Bitcoin testnet")
    ETHEREUM = "ethereum", _("Ethereum mainnet")
    TRON = "tron", _("Tron mainnet")


class Asset(models.Model):
    symbol = models.CharField(_("symbol"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    network = models.CharField(_("network"), max_length=32, choices=Network.choices)
    decimals = models.PositiveSmallIntegerField(
        _("decimals"), help_text=_("Number of decimal places of the smallest unit (BTC 8, ETH 18).")
    )
    contract_address = models.CharField(_("token contract"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["symbol"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        constraints = [
            models.CheckConstraint(condition=models.Q(decimals__lte=30), name="asset_decimals_max_30"),
        ]

    def __str__(self) -> str:
        return self.symbol

    FROZEN_FIELDS = ("symbol", "network", "decimals", "contract_address")

    def save(self, *args, **kwargs):
        # Decimals, network and contract give every stored amount its meaning: once an asset
        # has accounts they never change.
        if self.pk is not None and self.accounts.exists():
            stored = Asset.objects.filter(pk=self.pk).values(*self.FROZEN_FIELDS).first()
            changed = [f for f in self.FROZEN_FIELDS if stored and stored[f] != getattr(self, f)]
            if changed:
                raise ValidationError(
                    {
                        f: _("This asset has ledger accounts; its %(field)s cannot change.") % {"field": f}
                        for f in changed
                    }
                )
        super().save(*args, **kwargs)

    def format(self, units: int | None) -> str:
        from reserve.amounts import format_amount

        return "" if units is None else format_amount(units, self.decimals)

    def parse(self, text: object) -> int:
        from reserve.amounts import parse_amount

        return parse_amount(text, self.decimals)


class WalletKind(models.TextChoices):
    COLD_MULTISIG = "cold_multisig", _("Cold multisig")
    HOT = "hot", _("Hot wallet")
    CUSTODIAN = "custodian", _("Custodian account")
    SEIZURE_INTAKE = "seizure_intake", _("Seizure intake")


class Wallet(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=WalletKind.choices)
    network = models.CharField(_("network"), max_length=32, choices=Network.choices)
    custodian = models.CharField(_("custodian"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("custody wallet")
        verbose_name_plural = _("custody wallets")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs):
        # Requests name wallets by code; a code that changed between approval and execution
        # would move funds somewhere the approvers never saw.
        if self.pk is not None:
            stored = Wallet.objects.filter(pk=self.pk).values("code", "network").first()
            if stored and (stored["code"] != self.code or stored["network"] != self.network):
                raise ValidationError(_("A wallet's code and network never change once created."))
        super().save(*args, **kwargs)


class WalletAddress(models.Model):
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="addresses", verbose_name=_("wallet")
    )
    network = models.CharField(_("network"), max_length=32, choices=Network.choices, editable=False)
    address = models.CharField(_("address"), max_length=120)
    label = models.CharField(_("label"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["wallet", "id"]
        verbose_name = _("wallet address")
        verbose_name_plural = _("wallet addresses")
        constraints = [
            models.UniqueConstraint(fields=["network", "address"], name="wallet_address_unique"),
        ]

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs):
        if self.wallet_id is not None:
            self.network = self.wallet.network
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from reserve.addresses import AddressError, normalize_address

        try:
            wallet = self.wallet
        except Wallet.DoesNotExist:
            return
        self.network = wallet.network
        try:
            self.address = normalize_address(self.network, self.address)
        except AddressError as exc:
            raise ValidationError({"address": str(exc)})
        duplicate = WalletAddress.objects.filter(network=self.network, address=self.address).exclude(
            pk=self.pk
        )
        if duplicate.exists():
            raise ValidationError({"address": _("This address is already recorded.")})
