"""`python -m calfsense.cli`."""

from calfsense.cli import main

main()
