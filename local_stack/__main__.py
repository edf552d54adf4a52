import sys

from local_stack.run import main

sys.exit(main())
