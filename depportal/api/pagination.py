from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from depportal.api.serializers import MAX_INTEGER


class StandardPagination(LimitOffsetPagination):
    """limit/offset pages. A limit or offset that is not a whole number in range is refused, not ignored."""

    default_limit = 100
    max_limit = 1000

    def get_limit(self, request):
        return whole_number_param(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return whole_number_param(request, self.offset_query_param, 0, 0, MAX_INTEGER)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, MAX_INTEGER)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"].update(minimum=low, maximum=high)
        return parameters


def whole_number_param(request, name: str, default: int, low: int, high: int) -> int:
    """A query parameter that must be a whole number from low to high (default when absent), else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        message = f"Enter a whole number from {low} to {high}."
        raise ValidationError({name: [message]})
    return int(raw)
