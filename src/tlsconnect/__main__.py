"""``python -m tlsconnect``."""

from tlsconnect._cli import main

raise SystemExit(main())
