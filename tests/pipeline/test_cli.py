"""The `tfx-heads` command without the TFX stack (a plain install of the heads library).

Runs in both test environments (the TFX stack and the heads-only one, see the Makefile).
"""

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("argv", [[], ["run", "--help"]])
def test_without_tfx_the_command_says_in_one_line_what_to_install(argv):
    # `sys.modules["tfx"] = None` makes `import tfx` fail as it does where TFX is absent.
    result = _run(
        "import sys; sys.modules['tfx'] = None; from tfx_heads import cli; "
        f"sys.exit(cli.main({argv!r}))"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tfx-heads: the command line runs the TFX components, and TFX is not installed; "
        "install them with: pip install 'tfx-heads[tfx]' (TFX 1.16 to 1.21; see the README)"
    ]


def test_the_heads_library_imports_nothing_of_the_tfx_stack():
    result = _run(
        "import sys, heads, heads.stats; "
        "print(sorted(m for m in ('tfx', 'apache_beam', 'tensorflow_model_analysis', 'kfp', "
        "'tfx_bsl', 'ml_metadata') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
