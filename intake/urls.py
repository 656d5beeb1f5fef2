"""Intake's screens outside the admin. Not yet included by the site's ``reserve/urls.py``,
which names each app's URLs itself: add ``path("intake/", include("intake.urls"))`` there."""

from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("documents/<int:pk>/", views.court_document, name="court-document"),
]
