from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

# Redoc styles the page with <style> elements it makes (styled-components)
# and searches in a worker it makes from a blob: scripts stay 'self'.
api_docs = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
    SpectacularRedocView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/logs/", include("logs.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("", include("streams.urls")),
    path("", include("trading.urls")),
]
