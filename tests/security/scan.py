"""Attack the running stack from outside, the way a reviewer would, and print the figures.

    python deploy/native.py -- python tests/security/scan.py      (what `nox -s security` runs)

Against the gateway at SMOKE_BASE_URL (deploy/native.py passes it, with an admin's credentials):

1. schemathesis against each OpenAPI document the services publish (the api's with a bearer
   token of the admin, auth's), every phase: the documents' examples, the coverage of every
   boundary, random fuzzing, and stateful sequences along the documents' links;
2. the gateway checks of tests/smoke: security headers, the body-size limit (413), unknown Host
   names refused, forged X-Forwarded-* headers never believed.

A table of operations, cases and failures goes to stdout. The exit status is 1 when schemathesis
found a server error, a response the document does not describe, or could not run a case, or
when a gateway check failed.

    --max-examples N   cases per operation and phase (default 25: a minute or two for the api)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[2]

#: What every response must satisfy. Deliberately not the checks that judge validation itself
#: (negative_data_rejection, positive_data_acceptance): the services' own suites own those.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
GATEWAY_CHECKS = (
    "tests/smoke/test_gateway.py",
    "tests/smoke/test_operations.py::"
    "test_large_bodies_are_buffered_and_too_large_ones_refused_at_the_gateway",
)
#: A hard bound per run: a hung server must fail the session, not stall CI.
TIMEOUT_S = 300


@dataclass
class Figures:
    """One line of the summary table."""

    target: str
    operations: int
    cases: int
    failures: int
    errors: int

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.errors == 0 and self.cases > 0


def bearer_token(base_url: str) -> str:
    """A token of the stack's admin, through the gateway like any program would get one."""
    body = json.dumps(
        {
            "username": os.environ["SMOKE_ADMIN_USERNAME"],
            "password": os.environ["SMOKE_ADMIN_PASSWORD"],
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - our own gateway's http:// URL
        f"{base_url}/auth/api/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        token: str = json.load(response)["access_token"]
    return token


def schemathesis(
    name: str, document_url: str, workdir: Path, max_examples: int, *headers: str
) -> Figures:
    """Run the schemathesis CLI against one document; its figures from the JSON report."""
    report = workdir / f"{name}.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        document_url,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(max_examples),
        # One worker: with several, CPython 3.11's ast module (hypothesis describes its
        # strategies with it) fails now and then in threads ("AST constructor recursion depth
        # mismatch"), an error of the tool that would fail the session.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    for header in headers:
        command += ["--header", header]
    print(f"\n=== schemathesis: {name} ({document_url})", flush=True)
    # The token stays out of the printed command line; schemathesis masks it in its own output.
    subprocess.run(command, check=False, timeout=TIMEOUT_S, cwd=workdir)
    if not report.exists():
        return Figures(name, 0, 0, 0, 1)
    result = json.loads(report.read_text())
    return Figures(
        name,
        operations=result["operations"]["tested"],
        cases=result["test_cases"]["generated"],
        failures=sum(failure["count"] for failure in result["failures"]),
        errors=sum(error["count"] for error in result["errors"]),
    )


def gateway_checks(workdir: Path) -> Figures:
    """The gateway tests of tests/smoke, with pytest; figures from its JUnit report."""
    report = workdir / "gateway.xml"
    print("\n=== gateway checks", flush=True)
    command = [sys.executable, "-m", "pytest", *GATEWAY_CHECKS, "-p", "no:cacheprovider", "-q"]
    command += [f"--junitxml={report}"]
    subprocess.run(command, check=False, timeout=TIMEOUT_S, cwd=ROOT)
    if not report.exists():
        return Figures("gateway", 0, 0, 0, 1)
    # Our own pytest's report, not untrusted input.
    suite = ElementTree.parse(report).getroot().find("testsuite")  # noqa: S314
    assert suite is not None
    tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    return Figures(
        "gateway",
        operations=len(GATEWAY_CHECKS),
        cases=tests - skipped,
        failures=int(suite.get("failures", 0)),
        errors=int(suite.get("errors", 0)),
    )


def print_table(rows: list[Figures]) -> None:
    print("\n| target | operations | cases | failures | errors |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row.target} | {row.operations} | {row.cases} | {row.failures} | {row.errors} |")
    print(flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=25)
    args = parser.parse_args(argv)
    base_url = os.environ["SMOKE_BASE_URL"].rstrip("/")
    workdir = Path(tempfile.mkdtemp(prefix="security-"))
    token = bearer_token(base_url)
    rows = [
        schemathesis(
            "api",
            f"{base_url}/api/openapi.json",
            workdir,
            args.max_examples,
            f"Authorization: Bearer {token}",
        ),
        schemathesis("auth", f"{base_url}/auth/openapi.json", workdir, args.max_examples),
        gateway_checks(workdir),
    ]
    print_table(rows)
    failed = [row.target for row in rows if not row.ok]
    if failed:
        print(f"security: FAILED ({', '.join(failed)}); reports in {workdir}", file=sys.stderr)
        return 1
    print("security: no server error, no schema violation, every gateway check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
