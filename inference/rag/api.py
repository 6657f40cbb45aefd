"""POST /api/v1/rag/search: the passages of retailer policies, playbooks and specs nearest to a question, each
with its citation, among those the calling tenant may see (`selectors.knowledge_visible_to`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.rag.services import MAX_QUERY_CHARS, knowledge_search_request
from tenants.permissions import AnyRole


class RagSearchApi(APIView):
    permission_classes = [AnyRole]  # a search reads and writes nothing: viewers may ask too

    @extend_schema_serializer(component_name="RagSearchInput")
    class InputSerializer(serializers.Serializer):
        query = serializers.CharField(allow_blank=True, max_length=MAX_QUERY_CHARS)
        retailer = serializers.SlugField(max_length=63, required=False, allow_null=True)
        k = serializers.IntegerField(default=5)

    @extend_schema_serializer(component_name="RagSearchOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="RagSearchResult")
        class ResultSerializer(serializers.Serializer):
            retailer = serializers.CharField(allow_null=True, help_text="The owner's slug; null for shared knowledge")
            source_kind = serializers.ChoiceField(choices=["policy", "playbook", "spec"])
            source_id = serializers.CharField()
            version = serializers.IntegerField()
            title = serializers.CharField()
            text = serializers.CharField()
            score = serializers.FloatField(help_text="Cosine similarity to the query")
            citation = serializers.CharField()

        results = ResultSerializer(many=True)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer},
                   summary="Retrieve cited passages of retailer policies, playbooks and specs for a question")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        results = knowledge_search_request(query=values["query"], k=values["k"], retailer_slug=values.get("retailer"))
        return Response({"results": results})
