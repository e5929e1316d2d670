"""``python -m litestar_jwtsession.cli``."""

import sys

from litestar_jwtsession.cli.commands import main

sys.exit(main())
