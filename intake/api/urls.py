"""Intake's REST routes, included by the site (``reserve/urls.py``) under ``/api/v1/intake/``."""

from django.urls import path

from intake.api import views

app_name = "intake-api"
urlpatterns = [
    path("cases/", views.CaseListApi.as_view(), name="cases"),
    path("cases/<int:id>/", views.CaseDetailApi.as_view(), name="case"),
    path("cases/<int:id>/parties/", views.CasePartiesApi.as_view(), name="case-parties"),
    path("orders/", views.OrderCreateApi.as_view(), name="orders"),
    path("orders/<int:id>/", views.OrderDetailApi.as_view(), name="order"),
    path("orders/<int:id>/document", views.OrderDocumentApi.as_view(), name="order-document"),
    path("items/", views.ItemListApi.as_view(), name="items"),
    path("items/<int:id>/", views.ItemDetailApi.as_view(), name="item"),
]
