import sys

from export.publish import main

sys.exit(main())
