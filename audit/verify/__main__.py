"""``python -m audit.verify BUNDLE --key VKEY``: see :func:`audit.verify.cli.main`."""

import sys

from audit.verify.cli import main

sys.exit(main())
