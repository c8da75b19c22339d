from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/logs/", include("logs.urls")),
    path("", include("streams.urls")),
    path("", include("trading.urls")),
]
