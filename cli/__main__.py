"""``python -m cli``: the `campaign` command, for processes that start one of their own."""

from cli.main import main

main()
