import numpy as np
import pytest
import yaml

from musicrec.errors import ParameterError
from musicrec.users.genre import GenreListener, load_user_profiles, make_listener


def test_profiled_listener_ignores_state_and_transition_does_not():
    pop = make_listener("pop_lover")
    assert np.allclose(pop.like, pop.like[0])
    transition = make_listener("transition")
    assert not np.allclose(transition.like, transition.like[0])


def test_generic_listener_like_rate_matches_probability():
    listener = make_listener("generic", rng=np.random.default_rng(0))
    listener.start(0)
    likes = [listener.respond(int(a)).liked for a in np.arange(4000) % 5]
    assert abs(np.mean(likes) - 0.5) < 0.03


def test_update_moves_the_state_to_the_recommendation():
    listener = make_listener("transition", rng=np.random.default_rng(0))
    listener.start(2)
    feedback = listener.respond(3)
    listener.update(3, feedback)
    assert listener.now_playing == 3


def test_same_generator_same_feedback():
    def draws():
        listener = make_listener("pop_lover", rng=np.random.default_rng(7))
        listener.start(0)
        return [listener.respond(a % 5).liked for a in range(50)]

    assert draws() == draws()


@pytest.mark.parametrize("spec, message", [
    ({"kind": "generic", "like_probability": 1.2}, "like_probability of 'bad' is 1.2|like_probability of 'bad'=1.2"),
    ({"kind": "profiled", "like": {"Pop": 0.5}}, "gives no probability for"),
    ({"kind": "profiled", "like": {"Pop": 0.5, "Rock": 0.5, "Jazz": 0.5, "Classical": 0.5, "HipHop": 0.5,
                                    "Polka": 0.1}}, r"unknown genre\(s\) \['Polka'\]"),
    ({"kind": "sometimes"}, "kind of user profile 'bad'='sometimes'"),
])
def test_bad_profiles_are_named(spec, message):
    with pytest.raises(ParameterError, match=message):
        make_listener({"name": "bad", **spec})


def test_like_matrix_outside_unit_interval_is_named():
    with pytest.raises(ParameterError, match="Pop->Rock is -0.1"):
        GenreListener(["Pop", "Rock"], [[0.5, -0.1], [0.5, 0.5]], name="x")


def test_missing_and_malformed_profile_files(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_user_profiles(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("users: [unclosed")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_user_profiles(bad)
    empty = tmp_path / "empty.yml"
    empty.write_text(yaml.safe_dump({"genres": ["Pop", "Rock"]}))
    with pytest.raises(ParameterError, match="needs a 'users:' mapping"):
        load_user_profiles(empty)


def test_unknown_user_and_too_few_genres():
    with pytest.raises(ParameterError, match="user='nobody'"):
        make_listener("nobody")
    with pytest.raises(ParameterError, match="at least two genres"):
        make_listener("generic", genres=["Pop"])
