"""The installed project adds two top-level import names, `heads` and `tfx_heads`, and lives
beside Kubeflow's own SDK (`kubeflow`), whose package name the project's Kubeflow code used to
take.

The wheel is built from this checkout; Kubeflow's SDK (`kubeflow==0.5.0`) comes from the
package registry. Both go into real virtual environments, as a user installs them.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
KUBEFLOW_SDK = "kubeflow==0.5.0"

pytestmark = pytest.mark.slow


def _run(*argv: str | os.PathLike, cwd: str | os.PathLike | None = None) -> str:
    """Runs a command outside this checkout (whose folders would shadow installed packages)."""
    result = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd or tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{argv}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, pathlib.Path]:
    """This project's wheel and Kubeflow's SDK wheel, by distribution name."""
    out = tmp_path_factory.mktemp("wheels")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, REPOSITORY)
    _run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", out, KUBEFLOW_SDK)
    found = {path.name.split("-")[0]: path for path in out.glob("*.whl")}
    assert set(found) == {"tfx_heads", "kubeflow"}, found
    return found


def _venv(path: pathlib.Path) -> pathlib.Path:
    _run(sys.executable, "-m", "venv", path)
    return path / "bin" / "python"


def _pip(python: pathlib.Path, *argv) -> str:
    return _run(python, "-m", "pip", "--disable-pip-version-check", *argv)


def _files_intact(python: pathlib.Path, distribution: str) -> list[str]:
    """The files of an installed distribution (from its RECORD) that are missing."""
    program = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "dist = metadata.distribution(sys.argv[1])\n"
        "print(json.dumps([str(f) for f in dist.files if not f.locate().exists()]))"
    )
    return json.loads(_run(python, "-c", program, distribution))


def test_the_wheel_installs_only_heads_and_tfx_heads(wheels):
    with zipfile.ZipFile(wheels["tfx_heads"]) as wheel:
        names = wheel.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = wheel.read(entry_points).decode()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"heads", "tfx_heads"}
    packages = {
        name.rsplit("/", 1)[0].replace("/", ".") for name in names if name.endswith("/__init__.py")
    }
    in_repository = {
        "tfx_heads." + str(init.parent.relative_to(REPOSITORY)).replace("/", ".")
        for folder in ("cli", "components", "pipeline", "kubeflow")
        for init in (REPOSITORY / folder).rglob("__init__.py")
    }
    assert in_repository <= packages, "a package missing from pyproject.toml's [tool.setuptools]"
    assert "tfx-heads = tfx_heads.cli:main" in scripts


@pytest.mark.parametrize("first", ["kubeflow", "tfx_heads"])
def test_either_installs_after_the_other_and_uninstalls_alone(tmp_path, wheels, first):
    """In a bare environment (no dependencies), installing one after the other and then
    uninstalling either leaves the other's files, and `kubeflow.__version__`, intact."""
    second = "kubeflow" if first == "tfx_heads" else "tfx_heads"
    python = _venv(tmp_path / "venv")
    _pip(python, "install", "--quiet", "--no-deps", wheels[first])
    _pip(python, "install", "--quiet", "--no-deps", wheels[second])
    for distribution in ("kubeflow", "tfx-heads"):
        assert _files_intact(python, distribution) == [], distribution
    check = "import kubeflow, tfx_heads.kubeflow, tfx_heads.components; print(kubeflow.__version__)"
    assert _run(python, "-c", check).strip() == "0.5.0"

    _pip(python, "uninstall", "--quiet", "--yes", second.replace("_", "-"))
    remaining = first.replace("_", "-")
    assert _files_intact(python, remaining) == []
    module = "kubeflow" if first == "kubeflow" else "tfx_heads.kubeflow"
    _run(python, "-c", f"import {module}")
    if first == "kubeflow":
        assert _run(python, "-c", "import kubeflow; print(kubeflow.__version__)").strip() == "0.5.0"


def test_beside_the_kubeflow_sdk_on_this_tfx_stack(tmp_path, wheels):
    """The wheel and Kubeflow's SDK, with its dependencies, in front of this TFX stack: Kubeflow's
    trainer client and the project's evaluator import in one interpreter.

    `pip check` cannot pass there: every Kubeflow SDK release needs kubernetes >= 27.2, and
    TFX itself (1.16 to 1.21, and kfp 2.5 on the TFX 1.16 stack) requires kubernetes < 27. The
    test asserts that those pins are the only problems it reports, none of them the project's.
    """
    python = _venv(tmp_path / "overlay")
    stack = sysconfig.get_paths()["purelib"]
    overlay = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # The stack's packages after the overlay's own (a path line: the stack's editable install of
    # this checkout stays out, so the wheel is the only `tfx_heads`).
    pathlib.Path(overlay.strip(), "tfx_stack.pth").write_text(stack + "\n")
    _pip(python, "install", "--quiet", "--no-deps", wheels["tfx_heads"])
    _pip(python, "install", "--quiet", wheels["kubeflow"])

    # Every module of the project, from the wheel (so none still imports an old top-level name).
    imports = (
        "import importlib, pkgutil, kubeflow.trainer\n"
        "import tfx_heads.components.evaluator.executor as e\n"
        "names = [m.name for p in ('components', 'pipeline', 'kubeflow') for m in\n"
        "         pkgutil.walk_packages(importlib.import_module('tfx_heads.' + p).__path__,\n"
        "                               'tfx_heads.' + p + '.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(kubeflow.__version__, e.__file__, len(names))"
    )
    version, evaluator, modules = _run(python, "-c", imports, cwd=tmp_path).split()
    assert version == "0.5.0"
    assert pathlib.Path(evaluator).is_relative_to(overlay.strip())
    assert int(modules) > 50

    result = subprocess.run(
        [python, "-m", "pip", "check"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    problems = [line for line in result.stdout.splitlines() if line.strip()]
    assert problems, "pip check found no conflict: drop this test's explanation"
    for line in problems:
        assert line.split()[0] in ("tfx", "kfp"), line
        assert "kubernetes" in line, line
    assert not any("tfx-heads" in line for line in problems)
