"""The workflow screens (server-rendered pages for makers and approvers): ``views`` (inbox,
request page, new request, cancel, dashboard), ``otp_views`` (second factor), ``forms`` and
``urls`` (namespace ``workflow``)."""
