from __future__ import annotations

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable pages under concurrent inserts; clients may ask for up to 1,000 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "-created_at"
