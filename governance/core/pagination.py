from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from governance.core.errors import ApplicationError

_BAD_POSITION = (ValidationError, ValueError, TypeError, OverflowError)


class InvalidCursor(ApplicationError):
    code = "invalid_cursor"


def _invalid(why: str) -> InvalidCursor:
    return InvalidCursor(
        f"the cursor {why}; use the 'next' or 'previous' link of a page as given, or leave cursor out "
        "for the first page"
    )


class CursorPagination(pagination.CursorPagination):
    """Stable pages under concurrent inserts; clients may ask for up to 1,000 rows a page.

    A cursor is opaque to clients: one that does not decode, or whose position is not a value of the
    ordering field (not a date, a number out of range), is a 400 ``invalid_cursor``, never a 404 or 500."""

    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "-created_at"
    _model: type[Model] | None = None

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self._model = getattr(queryset, "model", None)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:  # DRF's answer to a cursor that does not decode
            raise _invalid("is not one this service made") from exc
        except _BAD_POSITION as exc:  # a position the database cannot compare (e.g. past an integer's range)
            raise _invalid("points at no position in this list") from exc

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None or self._model is None:
            return cursor
        field_name = self.ordering[0].lstrip("-") if isinstance(self.ordering, list | tuple) else ""
        field_name = field_name or str(self.ordering).lstrip("-")
        try:
            field = self._model._meta.get_field(field_name)
        except FieldDoesNotExist:
            return cursor
        try:
            field.get_prep_value(field.to_python(cursor.position))  # type: ignore[union-attr]
        except _BAD_POSITION as exc:
            raise _invalid("points at no position in this list") from exc
        return cursor
