webhook_api_urlpatterns = []
