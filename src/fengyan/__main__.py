"""Allow ``python -m fengyan``."""

from fengyan.cli.app import main

main()
