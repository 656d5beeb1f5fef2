"""The API's routes under ``/api/v1/``. Its catch-all 404 is in :mod:`reserve.urls`, after every
app's include, so that it swallows no later ``/api/v1/<app>/`` route."""

from django.urls import path

from reserve.api import request_views, views

app_name = "api"
urlpatterns = [
    path("assets/", views.AssetListApi.as_view(), name="asset-list"),
    path("assets/<str:symbol>/", views.AssetDetailApi.as_view(), name="asset-detail"),
    path("wallets/", views.WalletListApi.as_view(), name="wallet-list"),
    path("wallets/<str:code>/", views.WalletDetailApi.as_view(), name="wallet-detail"),
    path("wallets/<str:code>/lots/", views.WalletLotsApi.as_view(), name="wallet-lots"),
    path("balances/", views.BalanceListApi.as_view(), name="balance-list"),
    path("holdings/", views.HoldingsApi.as_view(), name="holdings"),
    path("requests/", request_views.RequestListApi.as_view(), name="request-list"),
    path("requests/transfers/", request_views.TransferCreateApi.as_view(), name="request-transfer-create"),
    path(
        "requests/allowlist-changes/",
        request_views.AllowListChangeCreateApi.as_view(),
        name="request-allowlist-change-create",
    ),
    path("requests/<int:id>/", request_views.RequestDetailApi.as_view(), name="request-detail"),
    # Any other app's kind (after reserve's named ones and the numeric detail route above).
    path("requests/<slug:slug>/", request_views.KindCreateApi.as_view(), name="request-create"),
    path("requests/<int:id>/payload", request_views.RequestPayloadApi.as_view(), name="request-payload"),
    path("requests/<int:id>/cancel", request_views.RequestCancelApi.as_view(), name="request-cancel"),
    path("requests/<int:id>/decisions/", request_views.DecisionCreateApi.as_view(), name="request-decisions"),
]
