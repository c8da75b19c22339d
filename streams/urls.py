from django.urls import path

from streams import views

urlpatterns = [path("healthz", views.healthz, name="healthz")]
