# Mounted under /o/<org_slug>/.
urlpatterns = []
# Mounted at the site root (no organisation in the URL).
public_urlpatterns = []
