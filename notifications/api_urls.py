urlpatterns = []
public_urlpatterns = []
key_urlpatterns = []
