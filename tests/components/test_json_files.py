"""Reading the JSON file of a command-line argument."""

import pytest

from tfx_heads.components.json_files import read_json_argument


def test_reads_the_json_value(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"options": {"epochs": 2}}')
    assert read_json_argument(str(path), "--trainer-config", "a JSON object") == {
        "options": {"epochs": 2}
    }


def test_a_file_that_is_not_json_names_the_argument_and_the_file(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text("[{'metric': 'auc'}]")
    expected = (
        rf"Invalid `--thresholds`: expected a JSON list; received '{path}' "
        r"\(Expecting property name enclosed in double quotes: line 1 column 3 \(char 2\)\)\."
    )
    with pytest.raises(ValueError, match=expected):
        read_json_argument(str(path), "--thresholds", "a JSON list")


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_json_argument(str(tmp_path / "missing.json"), "--thresholds", "a JSON list")
