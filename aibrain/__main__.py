import sys

from aibrain.cli import main

sys.exit(main())
