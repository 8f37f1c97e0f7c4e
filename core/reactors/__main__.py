import sys

from core.reactors.cli import main

sys.exit(main())
