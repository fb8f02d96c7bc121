"""The quiet console: known third-party warnings hidden, every other warning still shown."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

from bot import quiet
from bot.settings import PROJECT_ROOT


def test_filter_file_parses_into_python_w_form():
    filters = quiet.warning_filters()
    assert filters, "bot/resources/third_party_warnings.txt lists no filter"
    assert all(line.startswith("ignore:") and line.count(":") in (2, 3) for line in filters)


@pytest.mark.parametrize(
    "line",
    [
        "ignore::DeprecationWarning",  # neither message nor module: would hide a whole category
        "ignore:a, b:DeprecationWarning",  # ',' splits PYTHONWARNINGS
        "ignore:x:MovedIn20Warning",  # not built in: Python would import the library to resolve it
        "error:x:DeprecationWarning",
    ],
)
def test_a_filter_that_is_too_broad_or_unusable_is_refused_with_its_line(tmp_path, line):
    path = tmp_path / "filters.txt"
    path.write_text(f"# comment\n\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"filters.txt:3:"):
        quiet.warning_filters(path)


def test_environment_keeps_what_the_user_set():
    env = quiet.environment({"PYTHONWARNINGS": "error::ResourceWarning", "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert env["PYTHONWARNINGS"].endswith(",error::ResourceWarning")
    assert env["PYTHONWARNINGS"].startswith(",".join(quiet.warning_filters()))
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert env["SQLALCHEMY_SILENCE_UBER_WARNING"] == "1"
    assert quiet.environment(env)["PYTHONWARNINGS"] == env["PYTHONWARNINGS"]


def test_python_accepts_every_filter_in_pythonwarnings():
    result = subprocess.run(
        [sys.executable, "-c", "import sys; print(len(sys.warnoptions))"],
        env=quiet.environment({}), capture_output=True, text=True, check=True,
    )
    assert result.stderr == "", result.stderr  # Python reports "Invalid -W option ignored" here
    assert int(result.stdout) == len(quiet.warning_filters())


def test_makefile_exports_the_same_filters():
    result = subprocess.run(
        ["make", "-s", "-f", "-", "-f", "Makefile", "show-pythonwarnings"],
        input="show-pythonwarnings:\n\t@echo \"$$PYTHONWARNINGS\"\n", cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
    )
    assert result.stdout.strip() == ",".join(quiet.warning_filters())


def test_known_warnings_are_hidden_even_behind_a_library_filter(tmp_path):
    """Sanic and Rasa put "once" filters in front at import; the known warning must still not show."""
    module = tmp_path / "noisy_tool.py"
    module.write_text(
        textwrap.dedent(
            """
            import warnings
            warnings.filterwarnings("once", category=DeprecationWarning)
            warnings.filterwarnings("once", category=UserWarning)
            warnings.warn("pkg_resources is deprecated as an API. See ...", DeprecationWarning)
            warnings.warn("our own: this option goes away next release", DeprecationWarning)
            warnings.warn("Attempting to set identical left == right", UserWarning)
            print("done")
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.quiet", "noisy_tool"],
        cwd=PROJECT_ROOT, env=quiet.environment({"PYTHONPATH": f"{PROJECT_ROOT}:{tmp_path}"}),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert "pkg_resources" not in result.stderr
    assert "our own: this option goes away next release" in result.stderr
    # Filtered by module as well as message: from another module the same text still shows.
    assert "Attempting to set identical" in result.stderr


def test_show_all_warnings_turns_the_filters_off(tmp_path):
    module = tmp_path / "noisy_tool.py"
    module.write_text('import warnings\nwarnings.warn("jax.xla_computation is deprecated.", UserWarning)\n')
    env = quiet.environment({"PYTHONPATH": f"{PROJECT_ROOT}:{tmp_path}", "COACH_SHOW_ALL_WARNINGS": "1"})
    result = subprocess.run(
        [sys.executable, "-m", "bot.quiet", "noisy_tool"], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert "PYTHONWARNINGS" not in env
    assert "jax.xla_computation is deprecated." in result.stderr


def test_module_filter_matches_the_file_the_warning_comes_from():
    known = [(__import__("re").compile("x"), DeprecationWarning, "matplotlib._mathtext")]
    assert quiet._is_known(known, "x", DeprecationWarning, "/v/site-packages/matplotlib/_mathtext.py")
    assert not quiet._is_known(known, "x", DeprecationWarning, "/v/site-packages/matplotlib/other.py")
    assert not quiet._is_known(known, "x", UserWarning, "/v/site-packages/matplotlib/_mathtext.py")


def test_pytest_filters_hide_only_the_known_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for line in quiet.pytest_filters():
            action, message, category, module = quiet._fields(line)
            warnings.filterwarnings(action, message, getattr(__import__("builtins"), category), module)
        warnings.warn("jax.xla_computation is deprecated. Please use the AOT APIs.", DeprecationWarning)
        warnings.warn("something of ours is deprecated", DeprecationWarning)
    assert [str(w.message) for w in caught] == ["something of ours is deprecated"]
