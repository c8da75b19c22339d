from django.urls import path

from streams import views
from streams.publishing import relay

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/asyncapi.yaml", views.asyncapi_document, name="asyncapi"),
    path("metrics", views.metrics, name="metrics"),
    path(relay.PATH.lstrip("/"), views.relay_event, name="streams-relay"),
]
