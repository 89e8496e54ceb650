"""Repository tooling that is not a service: tools.fork (`nox -s fork`)."""
