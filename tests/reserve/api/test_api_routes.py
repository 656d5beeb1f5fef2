"""The API's catch-all 404 comes after every app's routes, so that another app's
``/api/v1/<app>/`` routes, included after the API's, are reachable."""

import sys
import types

from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from reserve import urls as site_urls
from tests.support.api import assert_error_body


def test_the_api_catch_all_is_the_last_route_of_the_site():
    last = site_urls.urlpatterns[-1]

    assert last.name == "api-not-found"
    assert all(getattr(p, "name", None) != "api-not-found" for p in site_urls.urlpatterns[:-1])


def _testapp_view(request):
    return JsonResponse({"app": "testapp"})


# A site whose extra app's API routes are included after reserve's API, as intake's and
# mining's would be.
_testapp_urls = types.ModuleType("tests.reserve.api._testapp_urls")
_testapp_urls.urlpatterns = [
    *site_urls.urlpatterns[:-1],
    path("api/v1/testapp/", _testapp_view),
    site_urls.urlpatterns[-1],
]
sys.modules[_testapp_urls.__name__] = _testapp_urls


@override_settings(ROOT_URLCONF=_testapp_urls.__name__)
def test_a_route_included_after_the_api_is_reachable(client):
    assert client.get("/api/v1/testapp/").json() == {"app": "testapp"}


@override_settings(ROOT_URLCONF=_testapp_urls.__name__)
def test_an_unknown_api_path_still_answers_the_error_body(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert_error_body(response.json(), "not_found")
