// Added to every page by the e2e tests (Playwright's add_init_script) before the page's own
// scripts run: each Content-Security-Policy violation is reported to the test, which fails.
// The browser blocks the offending script or style; this makes the block visible to the tests.
document.addEventListener("securitypolicyviolation", (event) => {
  const report = [
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`,
    `at ${event.sourceFile || event.documentURI}:${event.lineNumber}`,
    event.sample ? `(${event.sample})` : "",
  ].join(" ");
  window.__reportCspViolation(report);
});
