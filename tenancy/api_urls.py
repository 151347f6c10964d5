"""Tenancy's API, none of it under /api/v1/o/<org_slug>/ (`urlpatterns` is empty):
`public_urlpatterns` under /api/v1/ for the signed-in user (who am I, in which organisations),
and `key_urlpatterns` under /api/v1/ for an organisation API key (which key is this)."""

from django.urls import path

from . import api

urlpatterns = []

public_urlpatterns = [
    path("me/", api.MeView.as_view(), name="api_me"),
]

key_urlpatterns = [
    path("key/", api.ApiKeyInfoView.as_view(), name="api_key_info"),
]
