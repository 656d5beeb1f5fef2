"""The site's URLs with intake's document view included, as the site will include it."""

from django.urls import include, path

from reserve.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("intake/", include("intake.urls")), *site_urlpatterns]
