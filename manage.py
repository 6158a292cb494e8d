#!/usr/bin/env python3
"""Django's command-line utility for the oauthsite demo project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauthsite.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        # Load the settings first: Django's command runner swallows a configuration error here and
        # then fails later with an unrelated "Models aren't loaded yet".
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as error:
        sys.stderr.write(
            f"oauthsite is not configured: {error}\n"
            "For local development run `python3 dev.py demo`, or set OAUTHSITE_DEMO=1 to generate "
            "demo secrets into .demo/ (see docs/settings.md).\n"
        )
        sys.exit(2)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
