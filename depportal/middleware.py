"""Refuses addresses no view could answer: a NUL character in the path or the query string.

PostgreSQL cannot hold NUL in text, so a search for one failed deep in the database with a server error.
Refusing it here covers every search box and filter of the console and the API at once.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

NUL_REFUSED = "NUL characters (\\0) are not allowed in an address or a search."


class RequestBoundsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "invalid", "detail": NUL_REFUSED, "fields": {}}, status=400)
            return render(request, "400.html", {"message": NUL_REFUSED}, status=400)
        return self.get_response(request)
