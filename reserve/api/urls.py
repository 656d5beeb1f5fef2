"""The API's routes under ``/api/v1/``. Its catch-all 404 is in :mod:`reserve.urls`, after every
app's include, so that it swallows no later ``/api/v1/<app>/`` route."""

from django.urls import path

from reserve.api import decisions, request_changes, requests, valuations, views

app_name = "api"
urlpatterns = [
    path("assets/", views.AssetListApi.as_view(), name="asset-list"),
    path("assets/<str:symbol>/", views.AssetDetailApi.as_view(), name="asset-detail"),
    path("wallets/", views.WalletListApi.as_view(), name="wallet-list"),
    path("wallets/<str:code>/", views.WalletDetailApi.as_view(), name="wallet-detail"),
    path("wallets/<str:code>/lots/", views.WalletLotsApi.as_view(), name="wallet-lots"),
    path("balances/", views.BalanceListApi.as_view(), name="balance-list"),
    path("holdings/", views.HoldingsApi.as_view(), name="holdings"),
    path("valuations/", valuations.ValuationAtApi.as_view(), name="valuation-at"),
    path("valuations/latest/", valuations.LatestValuationApi.as_view(), name="valuation-latest"),
    path("valuations/nav/", valuations.NavHistoryApi.as_view(), name="valuation-nav"),
    path("requests/", requests.RequestListApi.as_view(), name="request-list"),
    path("requests/transfers/", requests.TransferCreateApi.as_view(), name="request-transfer-create"),
    path(
        "requests/allowlist-changes/",
        requests.AllowListChangeCreateApi.as_view(),
        name="request-allowlist-change-create",
    ),
    path("requests/<int:id>/", requests.RequestDetailApi.as_view(), name="request-detail"),
    # Any other app's kind (after reserve's named ones and the numeric detail route above).
    path("requests/<slug:slug>/", requests.KindCreateApi.as_view(), name="request-create"),
    path("requests/<int:id>/payload", request_changes.RequestPayloadApi.as_view(), name="request-payload"),
    path("requests/<int:id>/cancel", request_changes.RequestCancelApi.as_view(), name="request-cancel"),
    path("requests/<int:id>/decisions/", decisions.DecisionCreateApi.as_view(), name="request-decisions"),
]
