"""The organisation's API root, /api/v1/o/<org_slug>/ (and with a format suffix, e.g. .json):
REST framework's browsable index of the collections the ambassadors' and campaigns' routers
serve, as DefaultRouter made it when one router served them all. The portal holds it as it holds
the organisation's home page (/o/<org_slug>/): it stands above the apps it lists."""

from django.urls import path
from rest_framework.routers import DefaultRouter
from rest_framework.urlpatterns import format_suffix_patterns

from ambassadors import api_urls as ambassadors_api
from campaigns import api_urls as campaigns_api

_index = DefaultRouter(trailing_slash=True)
_index.registry = [*ambassadors_api.router.registry, *campaigns_api.router.registry]

urlpatterns = format_suffix_patterns([path("", _index.get_api_root_view(), name=_index.root_view_name)])
