#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nps.settings")
    from django.core.management import execute_from_command_line

    from nps.folders import folders_create

    folders_create()  # the embedded database, static files and broker live in folders

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
