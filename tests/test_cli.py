import subprocess
import sys

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
