"""Intake's screens outside the admin, included by the site (``reserve/urls.py``) under
``/intake/``."""

from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("documents/<int:pk>/", views.court_document, name="court-document"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
]
