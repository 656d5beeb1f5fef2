from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from reserve.api.errors import endpoint_not_found
from reserve.workflow import views as workflow_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("reserve.api.urls")),
    path("api/v1/intake/", include("intake.api.urls")),
    path("api/v1/mining/", include("mining.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", workflow_views.login_view, name="login"),
    path("accounts/logout/", workflow_views.logout_view, name="logout"),
    path("intake/", include("intake.urls")),
    path("", include("reserve.workflow.urls")),
    # Last, after every app's API routes: any other path under /api/v1/ answers 404 with the
    # API's error body instead of Django's HTML page.
    re_path(r"^api/v1/", endpoint_not_found, name="api-not-found"),
]
