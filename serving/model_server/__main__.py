import sys

from serving.model_server.main import main

sys.exit(main())
