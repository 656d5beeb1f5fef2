"""Mining's routes under ``/api/v1/mining/`` (included by the site's URLs, after reserve's API and
before the API's catch-all 404)."""

from django.urls import path

from mining.api import views

app_name = "mining-api"
urlpatterns = [
    path("sites/", views.SiteListApi.as_view(), name="site-list"),
    path("sites/<int:site>/", views.SiteDetailApi.as_view(), name="site-detail"),
    path("sites/<int:site>/days/", views.DaySubmitApi.as_view(), name="day-submit"),
    path("sites/<int:site>/days/bulk/", views.BulkDaysSubmitApi.as_view(), name="days-bulk-submit"),
    path("reports/", views.ReportListApi.as_view(), name="report-list"),
    path("reports/<int:id>/", views.ReportDetailApi.as_view(), name="report-detail"),
    path("reports/<int:id>/verification/", views.ReportVerificationApi.as_view(), name="report-verification"),
]
