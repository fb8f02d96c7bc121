"""Scenario files: every shipped file is valid, and a broken one is named with its field."""
import json
import shutil

import pytest

from bot import __main__ as cli
from bot.errors import ScenarioFileError, UnknownScenario
from bot.scenarios import PERSONAS, SCENARIO_DIR, SITUATIONS, check_all, get_scenario, load_all, load_scenario_file


def test_shipped_scenarios_are_valid():
    assert check_all() == []
    assert "laptop_at_home_service" in load_all()


@pytest.mark.parametrize("scenario_id", sorted(p.stem for p in SCENARIO_DIR.glob("*.yml")))
def test_every_situation_has_lines_for_both_personas(scenario_id):
    scenario = get_scenario(scenario_id)
    for situation in SITUATIONS:
        for persona in PERSONAS:
            assert len(scenario.lines(situation, persona)) >= 3, (situation, persona)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(UnknownScenario) as info:
        get_scenario("laptop_at_home")
    assert "laptop_at_home_service" in str(info.value)


@pytest.fixture
def scenario_copy(tmp_path):
    target = tmp_path / "laptop_at_home_service.yml"
    shutil.copy(SCENARIO_DIR / "laptop_at_home_service.yml", target)
    return target


def test_broken_yaml_names_the_file(scenario_copy):
    scenario_copy.write_text("id: [unclosed\n")
    with pytest.raises(ScenarioFileError, match=r"laptop_at_home_service\.yml: not valid YAML"):
        load_scenario_file(scenario_copy)


def test_missing_field_is_named(scenario_copy):
    text = scenario_copy.read_text().replace("turn_limit:", "turn_limits:")
    scenario_copy.write_text(text)
    with pytest.raises(ScenarioFileError) as info:
        load_scenario_file(scenario_copy)
    message = str(info.value)
    assert "field 'turn_limit'" in message and "field 'turn_limits'" in message


def test_too_few_variants_is_named(scenario_copy):
    import yaml

    raw = yaml.safe_load(scenario_copy.read_text())
    raw["replies"]["after_blame"]["angry"] = raw["replies"]["after_blame"]["angry"][:1]
    scenario_copy.write_text(yaml.safe_dump(raw))
    with pytest.raises(ScenarioFileError, match=r"field 'replies\.after_blame\.angry': ensure this value has at least 3 items"):
        load_scenario_file(scenario_copy)


def test_id_must_match_file_name(tmp_path, scenario_copy):
    renamed = scenario_copy.rename(tmp_path / "other_name.yml")
    with pytest.raises(ScenarioFileError, match="must match the file name 'other_name'"):
        load_scenario_file(renamed)


def test_scenarios_command_lists_json(capsys):
    assert cli.main(["scenarios", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"id", "title", "channel", "customer_name", "turn_limit"} <= set(rows[0])
    assert len(rows) == len(list(SCENARIO_DIR.glob("*.yml")))


def test_scenarios_check_command_reports_a_broken_file(tmp_path, scenario_copy, capsys):
    scenario_copy.write_text("id: [unclosed\n")
    assert cli.main(["scenarios", "--check", "--dir", str(tmp_path)]) == 1
    assert "laptop_at_home_service.yml: not valid YAML" in capsys.readouterr().out
