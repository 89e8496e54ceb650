"""The renaming rules of `nox -s fork` (tools/fork/), and a fork written to a temporary folder.

Fast: nothing is installed here. `nox -s forks` runs each fork's own checks.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tools.fork import ForkError, fork
from tools.fork.markdown import standalone, unlink_missing
from tools.fork.naming import (
    ForkNameError,
    Names,
    check_package_name,
    common_rules,
    derived_suffixes,
    library_names,
    package_from_folder,
    rename,
    service_rules,
)
from tools.fork.scaffold import RENDERED
from tools.fork.tomlwriter import dumps

ROOT = Path(__file__).resolve().parents[2]


def names(service: str = "blog", package: str = "journal", **library: frozenset[str]) -> Names:
    return Names(service=service, package=package, **library)


def rename_service_text(text: str, service: str = "blog", package: str = "journal") -> str:
    fork_names = Names(
        service=service,
        package=package,
        library_names=frozenset({"AUTH_ISSUER", "AUTH_JWKS_FILE"}),
        derived_suffixes=frozenset({"_session", ".sqlite3"}),
    )
    return rename(text, common_rules(fork_names) + service_rules(fork_names))


def test_the_package_import_paths_and_app_are_renamed() -> None:
    text = "from blog_service.models import Post\nflask --app blog_service run\n"
    assert rename_service_text(text) == "from journal.models import Post\nflask --app journal run\n"
    assert rename_service_text("my_blog_service_x") == "my_blog_service_x"  # whole names only


def test_distributions_become_the_forks_one_distribution() -> None:
    text = 'name = "flask-services-blog"\n"flask-services-kit",\n'
    assert rename_service_text(text, package="my_journal") == (
        'name = "my-journal"\n"my-journal",\n'
    )
    # the library's version lookup names the service's own distribution now
    library = 'metadata.version(f"flask-services-{service}")'
    assert rename(library, common_rules(names())) == 'metadata.version(f"{service}")'


def test_token_issuer_and_audience_defaults_take_the_forks_name() -> None:
    text = 'env.str("ISSUER", "flask-services-auth"), env.str("AUDIENCE", "flask-services")'
    assert rename(text, common_rules(names())) == (
        'env.str("ISSUER", "journal-auth"), env.str("AUDIENCE", "journal")'
    )
    # forking auth itself: the issuer is the fork
    auth = names(service="auth", package="accounts")
    assert rename('"flask-services-auth"', common_rules(auth)) == '"accounts"'


def test_the_service_name_literal_and_the_environment_prefix_are_renamed() -> None:
    text = 'env = Env("blog", environ)\nconfig["BLOG_TITLE"] = 1  # BLOG_<NAME>\n'
    assert rename_service_text(text) == (
        'env = Env("journal", environ)\nconfig["JOURNAL_TITLE"] = 1  # JOURNAL_<NAME>\n'
    )
    # a word that merely contains the service name stays
    assert rename_service_text('"blogger" SMOKE_BLOG_X blog') == '"blogger" SMOKE_BLOG_X blog'


def test_the_librarys_own_settings_keep_their_names_in_an_auth_fork() -> None:
    text = 'config["AUTH_ISSUER"], env.str("AUTH_TOTP_KEY_FILE"), Env("auth")'
    assert rename_service_text(text, service="auth", package="accounts") == (
        'config["AUTH_ISSUER"], env.str("ACCOUNTS_TOTP_KEY_FILE"), Env("accounts")'
    )


def test_names_the_library_derives_from_the_service_name_follow() -> None:
    assert rename_service_text('delete_cookie("auth_session")', "auth", "accounts") == (
        'delete_cookie("accounts_session")'
    )
    assert rename_service_text("instance/blog.sqlite3") == "instance/journal.sqlite3"


def test_the_library_scan_finds_settings_in_code_not_in_prose() -> None:
    library = '"""Read ``BLOG_DATABASE_URL``."""\nenv.str("AUTH_ISSUER")\nf"{self.service}_session"'
    assert library_names([library]) == {"AUTH_ISSUER"}
    assert derived_suffixes([library, 'service + ".sqlite3"']) == {"_session", ".sqlite3"}


@pytest.mark.parametrize("bad", ["Journal", "1blog", "my-blog", "class", "json", "servicekit", ""])
def test_a_package_name_must_be_a_free_identifier(bad: str) -> None:
    with pytest.raises(ForkNameError):
        check_package_name(bad)


def test_the_default_package_comes_from_the_folder_name() -> None:
    assert package_from_folder("My-Blog 2") == "my_blog_2"


def test_a_longer_name_lets_lines_grow_by_the_difference() -> None:
    assert names(package="journal").growth == 3  # BLOG -> JOURNAL
    assert names(service="api", package="task_tracker").growth == 9  # API -> TASK_TRACKER


def test_monorepo_sections_leave_the_service_readme() -> None:
    text = (
        "# Blog\n\nintro\n\n## Run it alone\n\ncd services/blog\n\n### Sub\n\nx\n\n"
        "## Decisions\n\nkept\n"
    )
    assert standalone(text) == "# Blog\n\nintro\n\n## Decisions\n\nkept\n"


def test_links_that_lead_nowhere_lose_their_link(tmp_path: Path) -> None:
    (tmp_path / "here.md").write_text("x")
    page = tmp_path / "README.md"
    page.write_text("[live](here.md) [dead](../../docs/design.md#x) [web](https://example.org)")
    unlink_missing(tmp_path)
    assert page.read_text() == "[live](here.md) dead [web](https://example.org)"


def test_the_toml_writer_round_trips_a_pyproject() -> None:
    document = {
        "project": {"name": "journal", "dependencies": ["flask>=3.1"], "x": {"a b": True}},
        "tool": {"mypy": {"strict": True, "overrides": [{"module": ["a.*"], "ignore": True}]}},
    }
    assert tomllib.loads(dumps(document)) == document


@pytest.mark.parametrize(("service", "package"), [("blog", "journal"), ("api", "task_tracker")])
def test_a_fork_is_a_renamed_standalone_project(tmp_path: Path, service: str, package: str) -> None:
    target = fork(ROOT, service, tmp_path / package, package)
    files = {str(path.relative_to(target)) for path in target.rglob("*") if path.is_file()}
    for expected in (
        "pyproject.toml", "noxfile.py", "Dockerfile", "compose.yaml", "README.md", "FORKED_FROM",
        ".pre-commit-config.yaml", ".github/workflows/ci.yml", "docs/service.md",
        f"{package}/__init__.py", "servicekit/__init__.py", "tests/conftest.py",
    ):  # fmt: skip
        assert expected in files
    leftovers = [
        name
        for name in sorted(files)
        if name not in {"FORKED_FROM", "README.md"}  # they name upstream on purpose
        and f"{service}_service" in (target / name).read_text(errors="replace")
    ]
    assert leftovers == []
    pyproject = tomllib.loads((target / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == package.replace("_", "-")
    assert not any("flask-services" in dep for dep in pyproject["project"]["dependencies"])
    record = (target / "FORKED_FROM").read_text()
    assert f"service: services/{service}/" in record
    assert "commit: " in record
    readme = (target / "README.md").read_text()
    assert "git diff " in readme
    assert f"`{package.upper()}_DATABASE_URL`" in readme
    for generated in RENDERED.values():  # every placeholder filled
        assert not re.search(
            r"@\{?(title|package|distribution|prefix|service|commit)",
            (target / generated).read_text(),
        ), generated


def test_the_standalone_blogs_readme_points_at_the_development_sign_in(tmp_path: Path) -> None:
    target = fork(ROOT, "blog", tmp_path / "journal", "journal")
    assert "/dev/sign-in" in (target / "README.md").read_text()


def test_forking_refuses_an_unknown_service_and_a_full_folder(tmp_path: Path) -> None:
    with pytest.raises(ForkError, match="no service 'shop'"):
        fork(ROOT, "shop", tmp_path / "shop", "shop")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ForkError, match="not empty"):
        fork(ROOT, "blog", tmp_path / "full", "journal")
