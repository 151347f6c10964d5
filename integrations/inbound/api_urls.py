connection_api_urlpatterns = []
