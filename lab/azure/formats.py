"""How the Azure services write values: times as ASR and ARM write them."""

from __future__ import annotations

import datetime as dt


def iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with 7 fractional digits and Z, as ASR writes its times."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
