"""Production logging: one JSON object per line on stdout, for the service
manager, and no log files."""

import json
import subprocess
import sys

from tests.production.test_settings import production_env
from tests.support import processes

LOG_SOME = """
import logging, django
django.setup()
logging.getLogger("trading.coordinator").info("tick %d", 7)
logging.getLogger("frontend").error("from the browser", extra={"fields": {"source": "app"}})
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("streams.fanout.hub").exception("it broke")
logging.getLogger("daphne.ws_protocol").debug("a frame")
"""


def test_records_are_json_lines_on_stdout(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", LOG_SOME],
        env=production_env(LOG_DIR=str(tmp_path / "log")),
        cwd=processes.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("trading.coordinator", "INFO", "tick 7"),
        ("frontend", "ERROR", "from the browser"),
        ("streams.fanout.hub", "ERROR", "it broke"),
    ]
    assert {"time", "process"} <= lines[0].keys() and "exc_info" not in lines[0]
    assert lines[1]["source"] == "app"
    assert "ZeroDivisionError" in lines[2]["exc_info"]
    assert not (tmp_path / "log").exists()
