"""``python -m colonies.store [NAME ...]``: print the store's SQL statements whole, by name."""

import sys

from colonies.store.statements import main

sys.exit(main(sys.argv[1:]))
