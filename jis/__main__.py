import sys

from jis.cli.main import main

sys.exit(main())
