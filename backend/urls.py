from django.urls import path

from backend import health
from backend.graph.views import graphql_view

urlpatterns = [
    path("graphql", graphql_view, name="graphql"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
