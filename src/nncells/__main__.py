import sys

from nncells.cli.main import main

sys.exit(main())
