"""`.env.example` says which settings `nox -s dev` reads and which `docker compose` does.

Both read a file named .env at the root: the embedded runner loads it into the services'
environment, compose fills in compose.yaml's ${...} from it. A newcomer must see which lines
matter for which, so every setting sits in a section that names its reader, and each section
tells the truth about compose.yaml and the code.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r"^# === (.+) ===$")
SETTING = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=")
SECTIONS = {
    "both: nox -s dev and docker compose": "both",
    "nox -s dev only": "dev",
    "docker compose only": "compose",
}


def settings_by_section() -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {name: set() for name in SECTIONS.values()}
    current = None
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if header := SECTION.match(line):
            assert header.group(1) in SECTIONS, f"unknown section {header.group(1)!r}"
            current = SECTIONS[header.group(1)]
        elif setting := SETTING.match(line):
            assert current is not None, f"{setting.group(1)} comes before any section"
            sections[current].add(setting.group(1))
    return sections


def compose_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "compose.yaml").read_text()))


def read_by_the_code(name: str) -> bool:
    """Whether the embedded runner or a service reads ``name`` (with or without its prefix)."""
    bare = re.sub(r"^(AUTH|BLOG|API)_", "", name)
    sources = [*ROOT.glob("system/*.py"), *ROOT.glob("shared/src/servicekit/*.py")]
    sources += ROOT.glob("services/*/*_service/**/*.py")
    return any(f'"{bare}"' in path.read_text(encoding="utf-8") for path in sources)


def test_every_setting_is_in_a_section_naming_who_reads_it() -> None:
    sections = settings_by_section()
    assert all(sections.values()), sections
    everything = [name for names in sections.values() for name in names]
    assert len(everything) == len(set(everything)), "a setting is in two sections"


def test_the_compose_sections_hold_only_what_compose_yaml_reads() -> None:
    sections = settings_by_section()
    unknown = (sections["compose"] | sections["both"]) - compose_variables()
    assert unknown == set(), "compose.yaml does not read these"


def test_the_dev_sections_hold_only_what_the_embedded_system_reads() -> None:
    sections = settings_by_section()
    assert sections["dev"] & compose_variables() == set(), "compose reads these: not dev only"
    unread = {name for name in sections["dev"] | sections["both"] if not read_by_the_code(name)}
    assert unread == set()
