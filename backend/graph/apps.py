from django.apps import AppConfig


class GraphConfig(AppConfig):
    name = "backend.graph"
    label = "graph"
