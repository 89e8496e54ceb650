"""The scopes a personal access token can carry, and what each allows in the api.

A scope names one permission; the api checks it per request (reads need ``tasks:read``,
changes need ``tasks:write``; one does not imply the other). Identity tokens from a browser
session or a password carry no scope claim and keep all of the user's rights.
"""

from __future__ import annotations

SCOPES = {
    "tasks:read": "Read your projects and tasks",
    "tasks:write": "Create, change and delete your projects and tasks",
}
