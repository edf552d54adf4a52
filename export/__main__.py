import sys

from export.export_run import main

sys.exit(main())
