"""/api/v1/experiments/power: what a test can detect, for how long and at what cost (synchronous)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.measure.requests import MeasureRequestError, power_answer
from rmn_saas.errors import ApiError
from tenants.permissions import AnyRole


class ExperimentPowerApi(APIView):
    """Power, sample size, MDE and duration for conversion-rate, mean and geo tests; the request schema is in
    campaigns/measure/requests.py. Viewers may ask too: nothing is written."""

    permission_classes = [AnyRole]

    @extend_schema(request=dict, responses={200: dict},
                   summary="Power, sample size, MDE and test duration (proportions, means, geo from regional sales)")
    def post(self, request):
        try:
            return Response(power_answer(request.data))
        except MeasureRequestError as exc:
            raise ApiError(status_code=exc.status, code=exc.code, message=exc.message, details=exc.details) from exc
