"""Access to the recorded Site Recovery traffic in tests/fixtures/asr-recordings (real traffic recorded by
Azure PowerShell's test suite, Apache-2.0; source and licence in that folder's README)."""

import json
from pathlib import Path

import pytest

RECORDINGS = Path(__file__).resolve().parents[2] / "fixtures" / "asr-recordings"
needs_recordings = pytest.mark.skipif(not RECORDINGS.is_dir(),
                                      reason="the recorded ASR traffic (tests/fixtures/asr-recordings) is not present")


def entries(name):
    return [entry for entry in json.loads((RECORDINGS / name).read_text())["entries"] if "method" in entry]


def entry(name, index):
    return json.loads((RECORDINGS / name).read_text())["entries"][index]


class FakeResponse(object):
    """Enough of an azure-core HTTP response for HttpResponseError and the error mapping."""

    def __init__(self, status, body=None, headers=None, reason="Error"):
        self.status_code = status
        self.reason = reason
        self.headers = headers or {}
        self._text = json.dumps(body) if body is not None else ""
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding=None):  # pylint: disable=unused-argument
        return self._text

    def body(self):
        return self._text.encode()
