"""calmline's HTTP service: ``create_app(settings)`` builds it, ``calmline serve`` runs it."""

from calmline.api.app import create_app

__all__ = ["create_app"]
