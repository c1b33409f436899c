"""Progress bars that show on terminals and stay silent in logs and tests (``NAPE_PROGRESS=0/1`` overrides)."""
from __future__ import annotations

import os
import sys
from typing import Any

from tqdm.auto import tqdm


def progress_bar(total: int | None = None, desc: str = "", enabled: bool | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar; ``enabled=None`` shows it only when stderr is a terminal."""
    if enabled is None:
        env = os.environ.get("NAPE_PROGRESS")
        enabled = env == "1" if env in ("0", "1") else sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=not enabled, dynamic_ncols=True, leave=False, **kwargs)
