"""Active sessions: each signed-in device of a user, listed on the account page, ended one by one."""
