import pytest
import yaml

from musicrec.errors import ParameterError
from musicrec.profiles import PROFILE_DIR, PROFILES, load_profile, studies


@pytest.mark.parametrize("study", studies())
def test_every_study_defines_every_profile(study):
    budgets = [load_profile(study, profile) for profile in PROFILES]
    assert [b["profile"] for b in budgets] == list(PROFILES)


def test_profile_files_are_valid_yaml():
    for path in PROFILE_DIR.glob("*.yml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path.name


def test_unknown_profile_and_study_are_named():
    with pytest.raises(ParameterError, match="profile='quick'"):
        load_profile("genre", "quick")
    with pytest.raises(ParameterError, match="study='nope'"):
        load_profile("nope", "smoke")
