"""The service files kept in deploy/ stay true to the code: every module they start exists,
every COACH_ setting they name is one the project reads (bot/settings.py ENVIRONMENT), and the
README's deployment guide names the same files."""
from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from bot.settings import ENVIRONMENT, PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SETTING = re.compile(r"\bCOACH_[A-Z_]+\b")


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def _modules(command: str):
    """The Python modules a command line starts: `-m X`, and what `-m bot.quiet` runs in turn."""
    words = shlex.split(command)
    modules = []
    for i, word in enumerate(words[:-1]):
        if word == "-m":
            modules.append(words[i + 1])
            if words[i + 1] == "bot.quiet" and i + 2 < len(words):
                modules.append(words[i + 2])
    return modules


def test_there_are_units_for_every_service():
    assert {p.name for p in UNITS} == {"coach-actions.service", "coach-rasa.service", "coach-web@.service"}


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_parses_and_starts_modules_that_exist(path):
    unit = _unit(path)
    for section in ("Unit", "Service", "Install"):
        assert unit.has_section(section), f"{path.name} has no [{section}]"
    service = unit["Service"]
    assert service.get("Restart") == "always", "a service that dies must come back by itself"
    commands = [service[key] for key in ("ExecStartPre", "ExecStart") if key in service]
    started = [module for command in commands for module in _modules(command)]
    assert started, f"{path.name} starts no Python module"
    for module in started:
        assert importlib.util.find_spec(module) is not None, f"{path.name} starts {module}, which does not exist"
    if "bot.instances" in started:  # its sub-command exists
        assert "endpoints" in service["ExecStartPre"]


def test_every_setting_named_in_deploy_files_is_one_the_project_reads():
    files = UNITS + [DEPLOY / "systemd" / "coach.env.example", DEPLOY / "nginx.conf.example"]
    named = set()
    for path in files:
        named |= set(SETTING.findall(path.read_text(encoding="utf-8")))
    unknown = named - set(ENVIRONMENT)
    assert not unknown, f"deploy files name settings nothing reads: {sorted(unknown)}"
    example = (DEPLOY / "systemd" / "coach.env.example").read_text(encoding="utf-8")
    for line in example.splitlines():
        if line.strip() and not line.startswith("#"):
            assert SETTING.fullmatch(line.split("=", 1)[0]), f"not a setting: {line!r}"


def test_every_listed_setting_is_read_somewhere_in_the_code():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "bot").rglob("*.py")
                       if p.name != "settings.py")
    source += (PROJECT_ROOT / "bot" / "settings.py").read_text(encoding="utf-8").split("ENVIRONMENT = {")[0]
    source += (PROJECT_ROOT / "bot" / "settings.py").read_text(encoding="utf-8").split("def _int_env")[1]
    for name in ENVIRONMENT:
        assert f'"{name}"' in source, f"{name} is listed in bot/settings.py ENVIRONMENT but nothing reads it"


def test_the_readme_guide_names_the_deploy_files():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for path in UNITS + [DEPLOY / "nginx.conf.example", DEPLOY / "systemd" / "coach.env.example"]:
        assert str(path.relative_to(PROJECT_ROOT)) in readme, f"README does not mention {path.name}"
