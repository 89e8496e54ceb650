"""Where a case's time goes: py-spy samples gunicorn's workers under wrk load.

``python -m bench.run --profile blog_home,api_task_list`` runs each named case once more after
its measurement (so sampling never slows the measured run), with ``py-spy record`` attached to
the app's gunicorn master and its workers. The raw samples (collapsed stacks, one line per
distinct stack) are kept as reports/bench/profile-<case>.txt for a flame graph; the summary
puts each sample in one bucket (the innermost frame from a known library, or the app's own
code) and lists the functions that appear in most samples.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

#: Library folders by bucket; the innermost frame that matches decides a sample's bucket.
BUCKETS = [
    ("psycopg", "database driver (psycopg)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("flask_sqlalchemy", "SQLAlchemy"),
    ("jinja2", "Jinja2 templates"),
    ("markupsafe", "Jinja2 templates"),
    ("marshmallow", "marshmallow"),
    ("flask_restful", "Flask-RESTful"),
    ("redis", "Redis round trips (rate limits, token revocation)"),
    ("flask_limiter", "Flask-Limiter"),
    ("limits", "Flask-Limiter"),
    ("jwt", "token verification (PyJWT, cryptography)"),
    ("cryptography", "token verification (PyJWT, cryptography)"),
    ("flask_wtf", "forms and CSRF (Flask-WTF)"),
    ("wtforms", "forms and CSRF (Flask-WTF)"),
    ("flask_login", "Flask-Login"),
    ("argon2", "password hashing (argon2)"),
    ("logging", "logging"),
    ("json", "JSON"),
    ("servicekit", "servicekit (shared hooks, errors, identity)"),
    ("werkzeug", "Werkzeug"),
    ("flask", "Flask"),
    ("gunicorn", "gunicorn (HTTP parsing, sockets)"),
]
#: Frames of the worker's request loop, in nearly every sample: they say nothing.
PLUMBING = (
    "(threading.py)",
    "(futures/thread.py)",
    "(gunicorn/workers/",
    "(workers/gthread.py)",
    "Flask.__call__",
    "Flask.wsgi_app",
    "Flask.full_dispatch_request",
    "Flask.dispatch_request",
    "ProxyFix.__call__",
    "View.as_view",
    "(<frozen runpy>)",
    "(gunicorn/arbiter.py)",
    "(gunicorn/__main__.py)",
    "(gunicorn/app/",
)
FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^():]+)(?::\d+)?\)$")


def py_spy() -> str | None:
    """The py-spy executable, if installed (pip install py-spy)."""
    return shutil.which("py-spy")


def record(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    """Start sampling gunicorn master ``pid`` and its workers for ``seconds``."""
    command = [
        py_spy() or "py-spy",
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--duration",
        str(seconds),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(output),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603


def _bucket(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        match = FRAME.match(frame)
        path = match.group("file") if match else frame
        parts = re.split(r"[/\\]", path)
        for folder, bucket in BUCKETS:
            if folder in parts or path.startswith(folder + "/"):
                return bucket
        if any(part.endswith("_service") for part in parts):
            return "the service's own code"
    return "other (Python runtime, threading)"


def _function(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    marker = "site-packages/"
    short = path.split(marker, 1)[1] if marker in path else "/".join(path.split("/")[-2:])
    return f"{match.group('function')} ({short})"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """Buckets (share of samples) and the functions present in most samples."""
    buckets: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # py-spy starts each stack with the process (and thread) it sampled.
        frames = [
            frame
            for frame in stack.split(";")
            if "(" in frame and not frame.startswith(("process ", "thread "))
        ]
        total += count
        buckets[_bucket(frames)] += count
        for function in {_function(frame) for frame in frames}:
            inclusive[function] += count

    def share(value: int) -> float:
        return round(100 * value / total, 1) if total else 0.0

    telling = [
        (name, value)
        for name, value in inclusive.most_common()
        if not any(plumbing in name for plumbing in PLUMBING)
    ]
    return {
        "samples": total,
        "buckets": {name: share(value) for name, value in buckets.most_common()},
        "top_functions": {name: share(value) for name, value in telling[:top]},
    }


def describe(case: str, summary: dict[str, Any]) -> str:
    """The summary as text for the terminal."""
    lines = [f"profile of {case}: {summary['samples']} samples (% of samples)"]
    lines += [f"  {share:5.1f}%  {name}" for name, share in summary["buckets"].items()]
    lines.append("  functions in most samples (inclusive):")
    lines += [f"  {share:5.1f}%  {name}" for name, share in summary["top_functions"].items()]
    return "\n".join(lines)
