"""``python -m tools.fork <service> <target> [--package NAME]`` (what ``nox -s fork`` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.fork import ForkError, fork
from tools.fork.naming import ForkNameError, package_from_folder

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s fork --",
        description="Write one service as a standalone project: renamed, with servicekit "
        "vendored, its own pyproject, noxfile, Dockerfile, compose.yaml, README and CI.",
    )
    parser.add_argument("service", help="the service to fork (a folder of services/)")
    parser.add_argument("target", type=Path, help="the new project's folder (new or empty)")
    parser.add_argument(
        "--package", help="the new import package (default: from the target folder's name)"
    )
    options = parser.parse_args(argv)
    try:
        package = options.package or package_from_folder(options.target.resolve().name)
        target = fork(ROOT, options.service, options.target, package)
    except (ForkError, ForkNameError) as error:
        parser.error(str(error))
    print(f"{options.service} forked into {target} as package {package}")
    print(f"next: cd {target} && nox")
    return 0


if __name__ == "__main__":
    sys.exit(main())
