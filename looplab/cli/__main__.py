"""``python -m looplab.cli``."""

from looplab.cli import main

main()
