from django.contrib.auth import views as auth_views
from django.urls import path

from trading.dashboard import views as dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # Django's LogoutView only accepts POST (the page's "Log out" form).
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
