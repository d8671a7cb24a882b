"""The package installs and runs outside the checkout: from the wheel, and from a git URL.

Offline and fast: the wheel is built without build isolation, and each temporary venv sees the
project venv's installed dependencies through a .pth file, so only the playground itself is
installed (``--no-deps``). Every command runs from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a build needs; tests, bench and app.py are not part of the package.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "playground", "presets")


def sh(*command, cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"[-4000:])
    return done


def copy_sources(target: Path) -> Path:
    """The files a build reads, as the working tree has them (no build/ or egg-info left behind)."""
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "build", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def make_venv(folder: Path) -> tuple[Path, Path]:
    """A venv whose site-packages also sees this interpreter's (a .pth line), without its own pip."""
    sh(sys.executable, "-m", "venv", "--without-pip", folder, cwd=folder.parent)
    python = folder / "bin" / "python"
    site = Path(
        sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=folder).stdout.strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "project-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return python, site


def outside_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | {"HF_HUB_OFFLINE": "1", "PLAYGROUND_CACHE": str(tmp / "cache"), "PYTHONNOUSERSITE": "1"}


INSPECT = textwrap.dedent(
    """
    import json, pathlib, playground
    from importlib import metadata
    from playground.presets import PRESET_DIR
    package = pathlib.Path(playground.__file__).parent
    print(json.dumps({
        "file": playground.__file__,
        "version": playground.__version__,
        "preset_dir": str(PRESET_DIR),
        "presets": sorted(p.name for p in PRESET_DIR.glob("*.yaml")),
        "c_sources": sorted(str(p.relative_to(package)) for p in package.rglob("*.c")),
        "data": sorted(str(p.relative_to(package)) for p in package.rglob("*")
                       if p.suffix in (".yaml", ".json") and p.parent.name != "presets_data"),
        "modules": sorted(str(p.relative_to(package)) for p in package.rglob("*.py")),
        "requires": metadata.requires("model-playground"),
    }))
    """
)


def test_the_wheel_installs_and_runs_from_another_folder(tmp_path, tiny_folders):
    source = copy_sources(tmp_path / "source")
    build = ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source]
    sh(sys.executable, "-m", "pip", *build, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("model_playground-*.whl"))
    python, site = make_venv(tmp_path / "venv")
    sh(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = outside_env(tmp_path)

    found = json.loads(sh(python, "-c", INSPECT, cwd=elsewhere, env=env).stdout)
    assert Path(found["file"]).is_relative_to(site), f"playground came from {found['file']}, not the venv"
    assert Path(found["preset_dir"]).is_relative_to(site)
    assert found["presets"] == sorted(p.name for p in (ROOT / "presets").glob("*.yaml"))
    package = ROOT / "playground"
    assert found["c_sources"] == sorted(str(p.relative_to(package)) for p in package.rglob("*.c"))
    assert found["data"] == sorted(
        str(p.relative_to(package)) for p in package.rglob("*") if p.suffix in (".yaml", ".json")
    )
    assert set(found["modules"]) >= {str(p.relative_to(package)) for p in package.rglob("*.py")}
    assert wheel.name.startswith(f"model_playground-{found['version']}-")
    assert any(r.startswith("torch>=") for r in found["requires"])

    listed = sh(python, "-m", "playground", "--list", cwd=elsewhere, env=env)
    assert "offline-default" in listed.stdout and "smollm2-135m-instruct" in listed.stdout

    command = tmp_path / "venv" / "bin" / "model-playground"
    options = [
        "--models",
        tiny_folders["gpt2"],
        tiny_folders["llama"],
        "--prompt",
        "A cat sat.",
        "--max-new-tokens",
        "3",
    ]
    ran = sh(command, *options, "--format", "json", "--quiet", cwd=elsewhere, env=env)
    data = json.loads(ran.stdout)
    assert [r["status"] for r in data["results"]] == ["done", "done"] and ran.stderr == ""
    assert data["versions"]["playground"] == found["version"] and data["producer"] == "command line"
    schema = json.loads((Path(found["file"]).parent / "export-schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)

    checked = sh(python, "-m", "pip", "check", cwd=elsewhere, env=env, check=False)
    ours = [line for line in checked.stdout.splitlines() if line.lower().startswith("model-playground")]
    assert not ours, f"pip check: {ours}"
    print(f"\nwheel {wheel.name} ({wheel.stat().st_size / 1e3:.0f} kB) installed into {site}")
    print(f"playground {found['version']} from {found['file']}")
    print(f"presets: {len(found['presets'])}; C sources: {found['c_sources']}")
    print(
        f"python -m playground --list: {len(listed.stdout.splitlines())} lines; model-playground: exit {ran.returncode}"
    )
    print(f"pip check on model-playground's requirements ({len(found['requires'])}): no problem")


def test_a_git_url_installs(tmp_path):
    repository = copy_sources(tmp_path / "repository")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    sh(*git, "init", "-q", cwd=repository)
    sh(*git, "add", "-A", cwd=repository)
    sh(*git, "commit", "-q", "-m", "snapshot", cwd=repository)
    python, site = make_venv(tmp_path / "venv")
    url = f"git+{repository.as_uri()}"
    sh(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", url, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = sh(tmp_path / "venv" / "bin" / "model-playground", "--list", cwd=elsewhere, env=outside_env(tmp_path))
    assert "offline-default" in listed.stdout
    installed = list((site / "playground" / "presets_data").glob("*.yaml"))
    assert len(installed) == len(list((ROOT / "presets").glob("*.yaml"))) and (site / "playground" / "cli.py").is_file()
    print(f"\npip install {url}: model-playground --list from {elsewhere} lists the presets")
