"""Which packages the wheel holds; every other setting is in pyproject.toml.

Every package under playground/ is found when the wheel is built, so a new subpackage ships
without an edit here, and the top-level presets/ folder (where lecturers edit presets) ships
inside the package as playground.presets_data, where playground.presets looks for it.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["playground", "playground.*"], exclude=["*__pycache__*"]),
        "playground.presets_data",
    ],
    package_dir={"playground.presets_data": "presets"},
)
