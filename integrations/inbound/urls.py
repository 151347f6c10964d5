connection_urlpatterns = []
hook_urlpatterns = []
