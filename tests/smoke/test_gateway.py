"""The gateway trusts only what it sets: the Host names it serves, the X-Forwarded-* headers.

A client that forges Host, X-Forwarded-Host/-Port/-For/-Prefix must not change a single
absolute URL, link or logged address; a service must not be reachable around the gateway.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.smoke.support import LogReader, wait_for

FORGED = {
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "6666",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.66",
    "X-Forwarded-Prefix": "/evil",
    "Forwarded": "for=203.0.113.66;host=evil.example;proto=https",
}
SELF_LINK = re.compile(r'<link rel="self"[^>]*href="([^"]*)"')


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.2", "localhost.evil"])
def test_an_unknown_host_is_refused(base_url: str, host: str) -> None:
    response = httpx.get(f"{base_url}/", headers={"Host": host}, timeout=10)
    assert response.status_code == 421
    assert "evil" not in response.text


def test_the_feed_self_link_never_carries_a_client_supplied_host_or_port(base_url: str) -> None:
    # The host name is one the gateway serves, but with a port the client made up.
    netloc = urlsplit(base_url)
    headers = {**FORGED, "Host": f"{netloc.hostname}:6666"}
    response = httpx.get(f"{base_url}/feed.xml", headers=headers, timeout=10)
    assert response.status_code == 200
    match = SELF_LINK.search(response.text)
    assert match, response.text[:500]
    assert match.group(1) == f"{base_url}/feed.xml"
    assert "evil" not in response.text
    assert "6666" not in response.text


def test_a_forged_prefix_does_not_move_the_links(base_url: str) -> None:
    for path in ("/", "/auth/login", "/api/docs"):
        response = httpx.get(f"{base_url}{path}", headers=FORGED, timeout=10)
        assert response.status_code < 400, path
        assert "/evil" not in response.text, path
        assert "evil.example" not in response.headers.get("location", ""), path


def _service_ports() -> dict[str, int]:
    """Where gunicorn listens, natively (deploy/native.py says); empty under compose."""
    pairs = (
        item.split("=") for item in os.environ.get("SMOKE_SERVICE_PORTS", "").split(",") if item
    )
    return {name: int(port) for name, port in pairs}


def _access_lines(read_logs: LogReader, service: str, request_id: str) -> list[dict[str, object]]:
    """The access lines of the request, once the app's is written (gunicorn writes its own
    before the app's writer thread does, so one it wrongly wrote would be there too)."""

    def lines() -> list[dict[str, object]]:
        found = []
        for line in read_logs(service).splitlines():
            start = line.find("{")
            if request_id in line and start >= 0:
                found.append(json.loads(line[start:]))
        return found

    wait_for(lambda: bool(lines()), message="no access log line for the request")
    return lines()


def test_the_services_log_the_gateway_view_of_the_client_not_the_header(
    base_url: str, read_logs: LogReader
) -> None:
    request_id = f"forged-{secrets.token_hex(8)}"
    headers = {**FORGED, "X-Request-ID": request_id}
    assert httpx.get(f"{base_url}/api/healthz", headers=headers, timeout=10).status_code == 200
    for entry in _access_lines(read_logs, "api", request_id):
        assert entry.get("remote_addr"), entry
        assert entry["remote_addr"] != "203.0.113.66", entry


def test_the_access_log_records_the_address_proxyfix_resolved(read_logs: LogReader) -> None:
    # Straight to gunicorn (on loopback, as the gateway would), with a chain of two: ProxyFix
    # believes one hop, the last. gunicorn's line once logged the raw header instead.
    api_port = _service_ports().get("api")
    if not api_port:
        pytest.skip("native stack with the api only: in compose the services are not reachable")
    request_id = f"chain-{secrets.token_hex(8)}"
    headers = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7", "X-Request-ID": request_id}
    response = httpx.get(f"http://127.0.0.1:{api_port}/healthz", headers=headers, timeout=10)
    assert response.status_code == 200
    entries = _access_lines(read_logs, "api", request_id)
    # One access line per request: the app's, with the address ProxyFix resolved; gunicorn's
    # own access logger leaves a request the app logged alone.
    assert [entry["logger"] for entry in entries] == ["servicekit.access"]
    assert entries[0]["remote_addr"] == "198.51.100.7"


def _a_non_loopback_address() -> str | None:
    """An address of this machine that other machines (or containers) could connect to."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address  # noqa: S104


def test_the_services_listen_on_loopback_only() -> None:
    ports = _service_ports()
    if not ports:
        pytest.skip("native stack only: in compose the networks keep the services private")
    address = _a_non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    for port in ports.values():
        with socket.socket() as attempt:
            attempt.settimeout(3)
            assert attempt.connect_ex((address, port)) != 0, f"{address}:{port} is reachable"
        # and on loopback it does answer: the test would pass for a stopped service otherwise
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            pass


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/v1/projects", "/nowhere"])
def test_every_answer_carries_the_security_headers_and_no_versions(
    base_url: str, path: str
) -> None:
    response = httpx.get(f"{base_url}{path}", timeout=10)
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    # Neither nginx nor gunicorn says which version it is.
    assert not re.search(r"\d", headers.get("server", "")), headers.get("server")
    assert "x-powered-by" not in headers
