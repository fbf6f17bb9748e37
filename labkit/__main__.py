"""``python -m labkit``: the same as the ``labkit`` command (for scripts such as the
offline kit's install.sh, which run before the command is on PATH)."""

from labkit.cli import main

main()
