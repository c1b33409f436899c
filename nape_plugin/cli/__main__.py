"""``python -m nape_plugin.cli``: the ``nape`` command."""
import sys

from .main import main

sys.exit(main())
