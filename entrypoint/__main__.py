"""`python -m entrypoint [options] -- CMD ARGS`."""

import sys

from entrypoint.main import main

sys.exit(main())
