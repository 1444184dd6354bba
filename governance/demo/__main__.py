"""``python -m governance.demo``: what ``make demo`` runs."""

from governance.demo.run import main

main()
