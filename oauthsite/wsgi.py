"""WSGI entry point: ``gunicorn oauthsite.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauthsite.settings")
application = get_wsgi_application()
