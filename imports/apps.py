from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        # The second validating process needs every database connection of the process
        # recorded from the first one on, which its module does on connection_created.
        from imports.pipeline import second_validator  # noqa: F401
