"""A URLconf with one REST endpoint that moves an instance: the desk's own
API only reads, so the tests bring a writing one to show whose moves an
API request's are."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.models import StrategyInstance


class Move(APIView):
    def post(self, request, pk):
        StrategyInstance.objects.get(pk=pk).transition_to("monitoring", reason="via the API")
        return Response(status=204)


urlpatterns = [path("move/<int:pk>/", Move.as_view())]
