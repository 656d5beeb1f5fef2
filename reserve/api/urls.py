from django.urls import path

from reserve.api import views

app_name = "api"
urlpatterns = [
    path("assets/", views.AssetListApi.as_view(), name="asset-list"),
    path("assets/<str:symbol>/", views.AssetDetailApi.as_view(), name="asset-detail"),
    path("wallets/", views.WalletListApi.as_view(), name="wallet-list"),
    path("wallets/<str:code>/", views.WalletDetailApi.as_view(), name="wallet-detail"),
    path("wallets/<str:code>/lots/", views.WalletLotsApi.as_view(), name="wallet-lots"),
    path("balances/", views.BalanceListApi.as_view(), name="balance-list"),
    path("holdings/", views.HoldingsApi.as_view(), name="holdings"),
]
