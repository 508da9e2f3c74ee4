"""Endpoints served only with LOCKSTEP_BENCH_ENDPOINTS=1, for `make bench`.

`GET /bench/empty` goes through the same gunicorn, middleware and DRF view
machinery as the API, but skips authentication, reads no storage and returns
`{}`. Its throughput is the ceiling that the cost of a poll is measured
against.
"""

from __future__ import annotations

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class EmptyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({})
