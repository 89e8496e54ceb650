"""Two-factor sign-in with time-based one-time codes (TOTP, RFC 6238) and recovery codes."""
