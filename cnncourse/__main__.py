"""``python -m cnncourse COMMAND``: see :mod:`cnncourse.cli`."""

from cnncourse.cli import main

raise SystemExit(main())
