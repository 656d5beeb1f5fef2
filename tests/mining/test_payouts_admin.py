"""The admin wiring of pool payout verification: uploads and clerk receipts go through the
services; the report page shows the payout check."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mining import payouts, services
from mining.models import PayoutReceipt, PoolStatement, Site
from reserve.models import AuditEvent
from tests.mining.conftest import line_figures
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

TXID = "ab" * 32
STATEMENT = (
    f"day,gross_btc,fee_btc,net_btc,payout_txid\n2019-01-20,2.16243270,0.05243270,2.11000000,{TXID}\n"
).encode()


@pytest.fixture
def staff_clerk(mining_clerk):
    mining_clerk.is_staff = True
    mining_clerk.save()
    return mining_clerk


def test_a_clerk_uploads_a_statement_through_the_import_service(client, staff_clerk, site):
    client.force_login(staff_clerk)
    upload = SimpleUploadedFile("statement.csv", STATEMENT, content_type="text/csv")
    response = client.post(
        reverse("admin:mining_poolstatement_add"), {"site": site.pk, "format": "csv", "file": upload}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    statement = PoolStatement.objects.get()
    assert statement.lines.get().net_sats == 211_000_000
    assert AuditEvent.objects.filter(action="mining.statement.imported").count() == 1
    page = client.get(reverse("admin:mining_poolstatement_change", args=[statement.pk]))
    assert page.status_code == 200 and "211000000" in page.content.decode()


def test_row_errors_of_an_upload_show_on_the_form_and_store_nothing(client, staff_clerk, site):
    client.force_login(staff_clerk)
    bad = SimpleUploadedFile("statement.csv", STATEMENT.replace(b"2.11000000", b"2.1100000x"))
    response = client.post(
        reverse("admin:mining_poolstatement_add"), {"site": site.pk, "format": "csv", "file": bad}
    )
    assert response.status_code == 200
    assert "Row 2, net_btc:" in response.content.decode()
    assert not PoolStatement.objects.exists()


def test_a_clerk_enters_a_receipt_through_the_service(client, staff_clerk, site):
    client.force_login(staff_clerk)
    data = {
        "site": site.pk,
        "txid": TXID,
        "vout": "0",
        "amount_btc": "2.1",
        "confirmations": "6",
        "block_time_0": "2019-01-21",
        "block_time_1": "02:00:00",
        "block_height": "",
    }
    response = client.post(reverse("admin:mining_payoutreceipt_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    receipt = PayoutReceipt.objects.get()
    assert (receipt.units, receipt.source, receipt.recorded_by) == (210_000_000, "clerk", staff_clerk)
    response = client.post(reverse("admin:mining_payoutreceipt_add"), data)
    assert response.status_code == 200 and PayoutReceipt.objects.count() == 1


def test_the_report_page_shows_the_payout_check(client, site, report, mining_clerk, settings):
    settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS = 15_000_000
    Site.objects.filter(pk=site.pk).update(pool_fee_percent=Decimal("2"))
    services.record_daily_line(
        report=report,
        actor=mining_clerk,
        **line_figures(btc_gross=216_243_270, pool_fees=4_324_866, btc_net=211_918_404, payout_txids=[TXID]),
    )
    payouts.import_pool_statement(site=report.site, content=STATEMENT, format="csv", actor=mining_clerk)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:mining_outputreport_change", args=[report.pk])).content.decode()
    assert "payout check" in page.lower()
    assert "FPPS payout vs expected output less fee" in page
    assert "211918404" in page and "211000000" in page
    for model in ("poolstatement", "payoutreceipt"):
        assert client.get(reverse(f"admin:mining_{model}_changelist")).status_code == 200
    assert dt.date(2019, 1, 20).isoformat() in page


def test_the_observe_action_stores_receipts_or_says_why_not(client, staff_clerk, site, settings, monkeypatch):
    from reserve.chain import services as chain_services
    from tests.mining.chain_fakes import OBSERVED_BLOCK, esplora_serving

    statement = payouts.import_pool_statement(
        site=site, content=STATEMENT.replace(b"2019-01-20", b"2018-11-20"), format="csv", actor=staff_clerk
    )
    client.force_login(staff_clerk)
    url = reverse("admin:mining_poolstatement_changelist")
    action = {"action": "observe_receipts", "_selected_action": [statement.pk]}
    settings.CHAIN_SOURCES = {}
    page = client.post(url, action, follow=True).content.decode()
    assert "No chain source serves" in page and not PayoutReceipt.objects.exists()

    settings.CHAIN_SOURCES = {"bitcoin": {"adapter": "esplora", "base_url": "https://esplora.test/api"}}
    fake = esplora_serving(site.payout_address, tip=OBSERVED_BLOCK + 5)

    def served(network, transport=None):
        return chain_services.chain_source(network, transport=fake)

    monkeypatch.setattr(payouts, "chain_source", served)
    page = client.post(url, action, follow=True).content.decode()
    assert "1 new receipts, 0 updated" in page
    assert PayoutReceipt.objects.get().units == 100_000
