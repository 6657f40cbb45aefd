"""Pagination of the list APIs: `?limit=&offset=`, 50 rows unless asked, at most 500."""

from rest_framework.pagination import LimitOffsetPagination


class ListPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500
