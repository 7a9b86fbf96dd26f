"""Closed-loop NPS: the project package (settings, urls, Celery app)."""

from nps.celery import app as celery_app

__all__ = ["celery_app"]
