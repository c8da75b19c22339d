from django.urls import path

from logs.views import FrontendLogView

urlpatterns = [path("", FrontendLogView.as_view(), name="frontend-logs")]
