"""python -m server: the same as the `pst` command."""

from server.cli import main

main()
