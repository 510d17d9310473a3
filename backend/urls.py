"""Django's URLs. The API's paths (/graphql, /healthz, /readyz) are routed in
backend/asgi.py before Django's handler, which serves only what is here."""

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path


async def django_healthz(request: HttpRequest) -> JsonResponse:
    """/healthz's answer through Django's request handling (middleware, URL
    resolver, request signals): shows the fallback handler works, and is the
    CPU benchmark's plain-Django-view reference (benchmarks/cpu_per_request.py)."""
    return JsonResponse({"status": "ok"})


urlpatterns: list[URLPattern] = [path("django/healthz", django_healthz, name="django-healthz")]
