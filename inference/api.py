"""API for text generation: queues a job on the gpu worker and answers 202 with its id."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.services import generate_request


class GenerateApi(APIView):
    class InputSerializer(serializers.Serializer):
        prompt = serializers.CharField(trim_whitespace=False, allow_blank=True)
        max_new_tokens = serializers.IntegerField(default=128)
        system = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=4000)

    class OutputSerializer(serializers.Serializer):
        job = serializers.UUIDField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer},
                   summary="Generate text with the base model; poll /api/v1/jobs/{job}")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = generate_request(actor=request.user.actor, **data.validated_data)
        return Response({"job": str(job.id)}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})


