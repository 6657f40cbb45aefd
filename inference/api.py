"""API for text generation: routes the request to an adapter stack, queues a job on the gpu worker and answers
202 with its id and the router's choice; the job's result carries the text, the stack used and the explanation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.services import COMPOSITIONS, DEFAULT_TASK, generate_request


class GenerateApi(APIView):
    class InputSerializer(serializers.Serializer):
        prompt = serializers.CharField(trim_whitespace=False, allow_blank=True)
        max_new_tokens = serializers.IntegerField(default=128)
        system = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=4000)
        task = serializers.SlugField(max_length=100, default=DEFAULT_TASK,
                                     help_text="The task, which picks the platform's task adapter.")
        retailer = serializers.SlugField(max_length=63, required=False, allow_null=True,
                                         help_text="The retailer whose context this is (its retailer adapter).")
        adapters = serializers.JSONField(
            required=False, allow_null=True,
            help_text="Omit to let the router choose; [] for the base model alone; or ids / {id, weight} objects.")
        composition = serializers.ChoiceField(choices=COMPOSITIONS, default="additive")

    class OutputSerializer(serializers.Serializer):
        job = serializers.UUIDField()
        route = serializers.DictField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer},
                   summary="Generate text through the routed adapter stack; poll /api/v1/jobs/{job}")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job, chosen = generate_request(actor=request.user.actor, tenant=request.tenant, **data.validated_data)
        return Response({"job": str(job.id), "route": chosen.as_dict()}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})
