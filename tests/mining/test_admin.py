import datetime as dt

import pytest
from django.urls import reverse

from mining import services
from mining.models import DailyLine, Fleet, NetworkEpoch, Site
from tests.mining.conftest import line_figures
from tests.support.factories import UserFactory, WalletFactory, random_address

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_clerk(mining_clerk):
    mining_clerk.is_staff = True
    mining_clerk.save()
    return mining_clerk


def management(prefix, total=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.parametrize("model", ["site", "outputreport", "networkepoch"])
def test_every_mining_page_opens_for_a_superuser(client, report, mining_clerk, model):
    services.record_daily_line(report=report, actor=mining_clerk, **line_figures())
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get(reverse(f"admin:mining_{model}_changelist")).status_code == 200
    obj = {"site": report.site, "outputreport": report, "networkepoch": NetworkEpoch.objects.get(epoch=312)}[
        model
    ]
    page = client.get(reverse(f"admin:mining_{model}_change", args=[obj.pk]))
    assert page.status_code == 200
    assert client.get(reverse(f"admin:mining_{model}_history", args=[obj.pk])).status_code == 200
    if model == "outputreport":
        assert "reported gross 216000000 sats" in page.content.decode()


def test_a_clerk_registers_a_site_through_the_admin(client, staff_clerk):
    wallet = WalletFactory()
    client.force_login(staff_clerk)
    data = {
        "name": "Shu DC",
        "region": "Zhambyl",
        "operator": "Op LLP",
        "licence_number": "ML-9",
        "licence_date": "2023-01-10",
        "energy_source": "gas",
        "power_capacity_mw": "12.5",
        "commissioned_on": "2023-02-01",
        "pool_name": "Pool",
        "payout_scheme": "fpps",
        "payout_address": "not-an-address",
        "custody_wallet": wallet.pk,
        "tolerance_percent": "5",
        "timezone": "Asia/Almaty",
    }
    refused = client.post(reverse("admin:mining_site_add"), data)
    assert refused.status_code == 200
    assert not Site.objects.exists()
    data["payout_address"] = random_address("bitcoin")
    done = client.post(reverse("admin:mining_site_add"), data)
    assert done.status_code == 302
    site = Site.objects.get(name="Shu DC")
    assert site.history.get().history_user == staff_clerk


def test_a_clerk_adds_a_fleet_and_a_daily_line_through_the_admin(client, staff_clerk, site, report):
    client.force_login(staff_clerk)
    page = client.get(reverse("admin:mining_site_change", args=[site.pk]))
    prefixes = [fs.formset.prefix for fs in page.context["inline_admin_formsets"]]
    fleet_data = {**management(prefixes[0]), **management(prefixes[1], 1)}
    fleet_data.update(
        {
            f"{prefixes[1]}-0-machine_model": "Whatsminer M30S",
            f"{prefixes[1]}-0-count": "100",
            f"{prefixes[1]}-0-nominal_hashrate_ths": "88",
            f"{prefixes[1]}-0-efficiency_j_per_th": "38",
        }
    )
    assert client.post(reverse("admin:mining_site_change", args=[site.pk]), fleet_data).status_code == 302
    assert Fleet.objects.filter(site=site, machine_model="Whatsminer M30S", count=100).exists()

    page = client.get(reverse("admin:mining_outputreport_change", args=[report.pk]))
    prefixes = [fs.formset.prefix for fs in page.context["inline_admin_formsets"]]
    figures = line_figures(uptime_percent="101")
    line_data = {**management(prefixes[0]), **management(prefixes[1], 1)}
    for name, value in figures.items():
        line_data[f"{prefixes[1]}-0-{name}"] = "\n".join(value) if isinstance(value, list) else str(value)
    refused = client.post(reverse("admin:mining_outputreport_change", args=[report.pk]), line_data)
    assert refused.status_code == 200
    assert "Uptime is at most 100%." in refused.content.decode()
    line_data[f"{prefixes[1]}-0-uptime_percent"] = "99"
    done = client.post(reverse("admin:mining_outputreport_change", args=[report.pk]), line_data)
    assert done.status_code == 302
    assert DailyLine.objects.get(site=site, day=dt.date(2019, 1, 20)).btc_net == 211_680_000


def test_a_clerk_fills_in_a_missing_epoch_start_time(client, staff_clerk):
    epoch = NetworkEpoch.objects.get(epoch=437)
    client.force_login(staff_clerk)
    data = {
        "start_time_0": "2025-01-26",
        "start_time_1": "12:00:00",
        "first_block_hash": "",
        "source": "clerk",
    }
    done = client.post(reverse("admin:mining_networkepoch_change", args=[epoch.pk]), data)
    assert done.status_code == 302, done.content.decode()[:2000]
    epoch.refresh_from_db()
    assert epoch.start_time is not None and epoch.source == "clerk"


def test_the_report_list_makes_the_same_queries_for_one_report_or_many(client, site, report, mining_clerk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:mining_outputreport_changelist")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for month in range(2, 7):
        services.open_report(
            site=site,
            period_start=dt.date(2019, month, 1),
            period_end=dt.date(2019, month, 28),
            actor=mining_clerk,
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(one)


def test_a_post_of_a_saved_site_runs_no_service(client, site):
    """A saved row's page is read-only: its post is neither checked nor run by the service
    (only an epoch's form runs again on change, to fill in its start time)."""
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    data = {**management("fleets"), **management("fleets-2")}
    response = client.post(reverse("admin:mining_site_change", args=[site.pk]), data)
    assert response.status_code == 302
    assert Site.objects.count() == 1
    assert site.history.count() == 1
