"""Active sessions: each signed-in device of a user, listed and ended one by one."""
