"""The faults session's own logic (tests/faults/report.py): no servers, no timings."""

from __future__ import annotations

from tests.faults.report import MAX_PASSWORD_CHECKS_PER_FAULT, Outcome, Record, summarize, table


def record_of(*outcomes: Outcome) -> Record:
    record = Record()
    for outcome in outcomes:
        record.add(outcome)
    return record


def test_failures_are_errors_refusals_and_broken_connections_not_redirects() -> None:
    assert Outcome(0, 0.1, 503, "page").failed
    assert Outcome(0, 0.1, 401, "api_read").failed
    assert Outcome(0, 0.1, 429, "api_read").failed
    assert Outcome(0, 0.1, "ConnectError", "page").failed
    assert not Outcome(0, 0.1, 200, "page").failed
    assert not Outcome(0, 0.1, 201, "api_write").failed
    assert not Outcome(0, 0.1, 302, "page").failed


def test_a_fault_counts_only_the_requests_started_in_its_window() -> None:
    record = record_of(
        Outcome(5.0, 0.1, 503, "page"),  # before the injection: another fault's
        Outcome(10.0, 0.2, 200, "page"),
        Outcome(11.0, 3.0, 502, "api_write"),  # the last failure ends at 14.0
        Outcome(12.0, 0.5, 200, "page"),
        Outcome(30.0, 0.1, 500, "page"),  # after the tail
    )
    row = summarize("x", 10.0, 20.0, record, bound=15)
    assert (row.requests, row.failed, row.max_latency) == (3, 1, 3.0)
    assert row.recovery == 4.0  # from the injection to the end of the last failed request
    assert (row.violations, row.hung) == (0, 0)


def test_no_failure_means_no_recovery_time() -> None:
    row = summarize("x", 0.0, 10.0, record_of(Outcome(1.0, 0.1, 200, "page")), bound=15)
    assert row.recovery == 0.0


def test_a_request_at_the_bound_hangs() -> None:
    record = record_of(Outcome(1.0, 15.0, 200, "page"), Outcome(2.0, 14.9, 200, "page"))
    assert summarize("x", 0.0, 20.0, record, bound=15).hung == 1


def test_each_revoked_token_accepted_is_a_violation() -> None:
    record = Record(revoked_accepted=[1.0, 2.0, 50.0])
    assert summarize("x", 0.0, 10.0, record, bound=15).violations == 2


def test_too_many_passwords_checked_means_the_rate_limit_is_gone() -> None:
    within = Record(passwords_checked=[float(n) for n in range(MAX_PASSWORD_CHECKS_PER_FAULT)])
    assert summarize("x", 0.0, 100.0, within, bound=15).violations == 0
    beyond = Record(passwords_checked=[float(n) for n in range(MAX_PASSWORD_CHECKS_PER_FAULT + 1)])
    assert summarize("x", 0.0, 100.0, beyond, bound=15).violations == 1


def test_the_table_has_the_columns_the_docs_show() -> None:
    row = summarize("Redis frozen", 0.0, 10.0, record_of(Outcome(1, 2.5, 503, "page")), 15)
    lines = table([row]).splitlines()
    assert lines[0] == (
        "| fault | requests | failed | max latency | security violations | recovery time |"
    )
    assert lines[2] == "| Redis frozen | 1 | 1 | 2.50 s | 0 | 3.5 s |"


def test_a_burst_that_met_no_gateway_limit_is_a_violation() -> None:
    record = Record(gateway_limit_missing=[3.0])
    assert summarize("x", 0.0, 10.0, record, bound=15).violations == 1
    assert summarize("x", 10.0, 20.0, record, bound=15).violations == 0
