import subprocess
import sys

import pytest

from musicrec.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    assert "genre" in text and "notebook" in text


def test_console_script_help_runs():
    result = subprocess.run([sys.executable, "-m", "musicrec", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: musicrec" in result.stdout


def test_genre_train_prints_policy_rewards(tmp_path, capsys):
    assert main(["genre", "train", "--user", "pop_lover", "--episodes", "300",
                 "--runs-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "q_learning" in text and "oracle" in text


def test_bad_parameter_gives_exit_code_2(tmp_path, capsys):
    assert main(["genre", "train", "--user", "nobody", "--runs-dir", str(tmp_path)]) == 2
    assert "user='nobody'" in capsys.readouterr().err


# -- one rule for relative paths: the current directory ---------------------------------------------------
def test_relative_paths_are_relative_to_the_current_directory(tmp_path, monkeypatch, capsys):
    from musicrec.utils import PROJECT_ROOT

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["genre", "train", "--episodes", "30", "--runs-dir", "myruns"]) == 0
    assert (elsewhere / "myruns" / "genre_qtable").is_dir()
    assert not (PROJECT_ROOT / "myruns").exists()
    assert main(["catalog", "synth", "--tracks", "20", "--output", "tracks.csv"]) == 0
    assert (elsewhere / "tracks.csv").is_file() and not (PROJECT_ROOT / "tracks.csv").exists()
    assert main(["catalog", "check", "tracks.csv"]) == 0
    assert main(["sessions", "simulate", "--sessions", "5", "--users", "10", "--tracks", "60", "--out", "sim"]) == 0
    assert (elsewhere / "sim" / "log_simulated.csv").is_file()
    assert main(["sessions", "maa", "--truth", "sim/log_simulated.csv", "--pred", "nowhere.csv"]) == 2
    assert "nowhere.csv does not exist" in capsys.readouterr().err


# -- every argument validated; one line and exit code 2 for a user's mistake; --debug for a traceback --------
@pytest.fixture()
def files(tmp_path):
    (tmp_path / "a_file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    return tmp_path


@pytest.mark.parametrize("argv, message", [
    (["genre", "train", "--episodes", "0"], "argument --episodes: 0 must be >= 1"),
    (["genre", "train", "--episode-length", "1e9"], "argument --episode-length: 1e9 must be <= 10000"),
    (["genre", "train", "--seed", "-1"], "argument --seed: -1 must be >= 0"),
    (["genre", "train", "--runs-dir", "{files}/a_file.txt"], "a_file.txt is a file, not a folder"),
    (["data", "build", "--jobs", "0"], "argument --jobs: 0 must be >= 1"),
    (["data", "build", "--seconds", "inf"], "argument --seconds: 'inf' is not a finite number"),
    (["data", "build", "--root", "{files}/a_file.txt"], "a_file.txt is a file, not a folder"),
    (["tag", "{files}/a_file.txt", "--top", "0"], "argument --top: 0 must be >= 1"),
    (["tag", "{files}/folder"], "folder is a folder, not a file"),
    (["tag", "{files}/nothing.wav"], "nothing.wav does not exist"),
    (["notebook", "run", "{files}/folder"], "folder is a folder, not a file"),
    (["notebook", "run", "{files}/a_file.txt"], "a_file.txt is not a .ipynb notebook"),
    (["notebook", "run", "{files}/a_file.txt", "--profile", "huge"], "invalid choice: 'huge'"),
    (["notebook", "run", "{files}/a_file.txt", "-p", "oops"], "must look like NAME=VALUE"),
    (["sessions", "simulate", "--out", "{files}/a_file.txt"], "a_file.txt is a file, not a folder"),
    (["sessions", "simulate", "--out", "{files}/sim", "--tracks", "10"], "argument --tracks: 10 must be >= 60"),
    (["sessions", "maa", "--truth", "{files}/folder", "--pred", "{files}/a_file.txt"], "is a folder, not a file"),
    (["catalog", "synth", "--output", "{files}/folder"], "folder is a folder; give a file name"),
    (["catalog", "synth", "--output", "{files}/a_file.txt"], "a_file.txt already exists"),
    (["catalog", "synth", "--output", "{files}/new.csv", "--tracks", "1e12"], "needs about"),
    (["catalog", "check", "{files}/a_file.txt"], "lacks the column(s)"),
])
def test_every_mistake_is_one_line_and_exit_code_2(argv, message, files, capsys):
    assert main([arg.replace("{files}", str(files)) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_simulation_never_overwrites_earlier_output(tmp_path, capsys):
    argv = ["sessions", "simulate", "--sessions", "5", "--users", "10", "--tracks", "60", "--out", str(tmp_path)]
    assert main(argv) == 0
    before = (tmp_path / "log_simulated.csv").read_bytes()
    assert main(argv) == 2 and "already holds log_simulated.csv" in capsys.readouterr().err
    assert (tmp_path / "log_simulated.csv").read_bytes() == before


def test_a_damaged_weights_file_is_one_line(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    (tmp_path / "msd_vgg.pt").write_bytes(b"\x80\x02 not a state dict")
    sf.write(tmp_path / "clip.wav", 0.1 * np.sin(np.arange(16000 * 4) / 3.0), 16000)
    assert main(["tag", str(tmp_path / "clip.wav"), "--weights-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "msd_vgg.pt is not a converted msd_vgg state dict" in err and len(err.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    from musicrec.errors import ParameterError

    with pytest.raises(ParameterError, match="user='nobody'"):
        main(["--debug", "genre", "train", "--user", "nobody", "--runs-dir", str(tmp_path)])


def test_an_unexpected_error_is_one_line_with_a_hint(monkeypatch, capsys):
    import musicrec.commands.catalog as catalog_command

    def broken(args):
        raise KeyError("surprise")

    monkeypatch.setattr(catalog_command, "_check", broken)
    parser_args = ["catalog", "check", __file__]
    assert main(parser_args) == 1
    err = capsys.readouterr().err
    assert "internal error: KeyError" in err and "--debug" in err and len(err.strip().splitlines()) == 1
