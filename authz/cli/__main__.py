"""`python -m authz.cli`: the `authz` command."""

import sys

from authz.cli.main import main

sys.exit(main())
