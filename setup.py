"""Kept so Dataflow can ship this project to its workers with `--setup_file`.

All metadata lives in pyproject.toml; setuptools reads it from there.
"""

import setuptools

setuptools.setup()
