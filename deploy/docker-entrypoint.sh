#!/bin/sh
# Entrypoint of the service images: read file-based secrets, then run the command (gunicorn by
# default, or `flask ...` for migrations and one-off tasks) as PID 1, so it gets the signals.
#
# Docker's *_FILE convention, for the variables that hold a secret value: SECRET_KEY_FILE=path
# sets SECRET_KEY to the file's content, unless SECRET_KEY itself is set; the same for the Redis
# URLs, which carry Redis's password. (AUTH_SIGNING_KEY_FILE and PGPASSFILE are read by the app
# and by libpq themselves: they stay paths.)
set -eu
for name in SECRET_KEY RATELIMIT_STORAGE_URI REVOCATION_STORE_URI; do
  file=$(printenv "${name}_FILE" || true)
  if [ -n "$file" ] && [ -z "$(printenv "$name" || true)" ]; then
    value=$(cat "$file")
    export "$name=$value"
  fi
  unset "${name}_FILE"
done
exec "$@"
