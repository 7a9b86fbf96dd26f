"""WSGI entry point (gunicorn -c nps/gunicorn.conf.py nps.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from nps.folders import folders_create

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nps.settings")
folders_create()  # the embedded database, static files and broker, when no server is set
site = get_wsgi_application()

from surveys.gateways.registry import gateways_refuse_unsafe_start  # noqa: E402 (after setup)
from surveys.webhooks import with_webhooks  # noqa: E402

# Gateways' webhooks skip the middleware of sessions, users and pages (surveys.webhooks).
application = with_webhooks(site)

# With DEBUG off a development gateway secret stops the web process here.
gateways_refuse_unsafe_start()
