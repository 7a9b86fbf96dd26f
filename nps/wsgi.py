"""WSGI entry point (gunicorn -c nps/gunicorn.conf.py nps.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nps.settings")
application = get_wsgi_application()

from surveys.gateways.registry import gateways_refuse_unsafe_start  # noqa: E402 (after setup)

# With DEBUG off a development gateway secret stops the web process here.
gateways_refuse_unsafe_start()
