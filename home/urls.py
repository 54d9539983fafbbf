from django.urls import path

from home.views import actions, analytics, imports, overview, page

app_name = "home"

urlpatterns = [
    path("", page.home_index, name="index"),
    *overview.urlpatterns,
    *actions.urlpatterns,
    *analytics.urlpatterns,
    *imports.urlpatterns,
]
