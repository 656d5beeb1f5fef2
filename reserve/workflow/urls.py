"""URLs of the approvers' workflow screens, included at the site root as namespace
``workflow``."""

from django.urls import path

from reserve.workflow import otp_views, views

app_name = "workflow"
urlpatterns = [
    path("", views.home, name="home"),
    path("workflow/", views.inbox, name="inbox"),
    path("workflow/requests/<int:pk>/", views.request_detail, name="request"),
    path("workflow/requests/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("workflow/requests/new/<slug:slug>/", views.new_request, name="new-request"),
    # The transfer screen's first address, kept for bookmarks and the menu.
    path("workflow/transfers/new/", views.new_request, {"slug": "transfers"}, name="new-transfer"),
    path("workflow/otp/verify/", otp_views.otp_verify, name="otp-verify"),
    path("workflow/otp/enrol/", otp_views.otp_enrol, name="otp-enrol"),
    path("workflow/dashboard/", views.dashboard, name="dashboard"),
]
