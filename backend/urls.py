"""Django's URLs: none today. The API's paths (/graphql, /healthz, /readyz)
are routed in backend/asgi.py before Django's handler."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
