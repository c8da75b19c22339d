#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import contextlib
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config.local_state import prepare

    # A wrong setting: execute_from_command_line says what, as it always has.
    with contextlib.suppress(ImproperlyConfigured):
        prepare(settings)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
