#!/bin/sh
# Entrypoint of the service images: read file-based secrets, then run the command (gunicorn by
# default, or `flask ...` for migrations and one-off tasks) as PID 1, so it gets the signals.
#
# Docker's *_FILE convention, for the variables that hold a secret value: SECRET_KEY_FILE=path
# sets SECRET_KEY to the file's content, unless SECRET_KEY itself is set. (AUTH_SIGNING_KEY_FILE
# and PGPASSFILE are read by the app and by libpq themselves: they stay paths.)
set -eu
if [ -n "${SECRET_KEY_FILE:-}" ] && [ -z "${SECRET_KEY:-}" ]; then
  SECRET_KEY=$(cat "$SECRET_KEY_FILE")
  export SECRET_KEY
fi
unset SECRET_KEY_FILE
exec "$@"
