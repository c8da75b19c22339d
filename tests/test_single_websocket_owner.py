"""The dashboard has exactly one WebSocket owner.

Four panels once opened four sockets that fought each other (constant
reconnects). Now only the streams client constructs a WebSocket; panels
receive the client and subscribe through it. This test keeps it that way.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWNER = "streams/static/streams/ws-client.js"
SUFFIXES = (".js", ".mjs", ".html")
CONSTRUCTS_SOCKET = re.compile(r"new\s+(?:(?:window|globalThis|self)\s*\.\s*)?WebSocket\b")


def project_files():
    """Tracked files, plus new ones not yet added (but not ignored ones), so
    the test also catches a file someone is still writing."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listing.splitlines() if name.endswith(SUFFIXES)]


def test_only_the_streams_client_constructs_a_websocket():
    offenders = [
        name
        for name in project_files()
        if name != OWNER
        and (ROOT / name).is_file()
        and CONSTRUCTS_SOCKET.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == [], (
        f"only {OWNER} may construct a WebSocket; subscribe through the client "
        f"instead in: {', '.join(offenders)}"
    )


def test_the_streams_client_is_where_the_socket_is_made():
    """Guards the test above against passing because the owner moved."""
    assert CONSTRUCTS_SOCKET.search((ROOT / OWNER).read_text(encoding="utf-8"))
