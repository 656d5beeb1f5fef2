from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from reserve.workflow import views as workflow_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("reserve.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", workflow_views.login_view, name="login"),
    path("accounts/logout/", workflow_views.logout_view, name="logout"),
    path("", include("reserve.workflow.urls")),
]
