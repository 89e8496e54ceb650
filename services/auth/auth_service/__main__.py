"""``python -m auth_service PATH``: write a new signing key without building the app.

Production refuses to build the app before it has a key, so the first key is made this way.
"""

from auth_service.cli import generate_signing_key

generate_signing_key(prog_name="python -m auth_service")
