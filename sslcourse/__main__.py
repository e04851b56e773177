import sys

from sslcourse.cli import main

sys.exit(main())
