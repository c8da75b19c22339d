from django.urls import path

from logs.views import frontend_logs

urlpatterns = [path("", frontend_logs, name="frontend-logs")]
