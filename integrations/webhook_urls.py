webhooks_urlpatterns = []
