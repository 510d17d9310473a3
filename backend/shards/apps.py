from django.apps import AppConfig


class ShardsConfig(AppConfig):
    name = "backend.shards"
    label = "shards"

    def ready(self) -> None:
        from backend.shards import stats

        stats.install()
