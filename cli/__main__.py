"""`python -m tfx_heads.cli`: the `tfx-heads` command."""

import sys

from tfx_heads.cli import main

sys.exit(main())
