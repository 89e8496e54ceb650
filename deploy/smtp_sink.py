"""A real SMTP server on loopback that keeps every message as a file (the native stack's mail).

    python deploy/smtp_sink.py MAIL_DIR PORT_FILE [PORT]

Listens on 127.0.0.1 (PORT, default 0: any free port, written to PORT_FILE once listening)
and writes each message it accepts to MAIL_DIR as ``<nanoseconds>-<n>.eml``, exactly as
received (written under another name, then renamed: a reader never sees half a message).
deploy/native.py runs it for smoke, e2e and bench, which read MAIL_DIR (SMOKE_MAIL_DIR).
It needs aiosmtpd (installed by those nox sessions, not by the services).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class ToFiles:
    """aiosmtpd handler: one .eml file per accepted message."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.numbers = itertools.count(1)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        name = f"{time.time_ns()}-{next(self.numbers)}.eml"
        partial = self.folder / f".{name}.part"
        partial.write_bytes(data)
        partial.rename(self.folder / name)
        return "250 Message accepted for delivery"


async def serve(folder: Path, port_file: Path, port: int) -> None:
    loop = asyncio.get_running_loop()
    handler = ToFiles(folder)
    server = await loop.create_server(lambda: SMTP(handler), host="127.0.0.1", port=port)
    bound = server.sockets[0].getsockname()[1]
    port_file.write_text(f"{bound}\n")
    print(f"smtp_sink: listening on 127.0.0.1:{bound}, writing to {folder}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    folder, port_file = Path(argv[1]), Path(argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(folder, port_file, int(argv[3]) if len(argv) == 4 else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
