"""URLs of the approvers' workflow screens, included at the site root as namespace
``workflow``."""

from django.urls import path

from reserve import views

app_name = "workflow"
urlpatterns = [
    path("", views.home, name="home"),
    path("workflow/", views.inbox, name="inbox"),
    path("workflow/requests/<int:pk>/", views.request_detail, name="request"),
    path("workflow/transfers/new/", views.new_transfer, name="new-transfer"),
    path("workflow/otp/verify/", views.otp_verify, name="otp-verify"),
    path("workflow/otp/enrol/", views.otp_enrol, name="otp-enrol"),
    path("workflow/dashboard/", views.dashboard, name="dashboard"),
]
