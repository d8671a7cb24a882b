"""Compile the fast paths' C sources once, and load a library only if it is the one that was built.

A shared library is code the process will run, so where it lives and what it holds are checked:

- it is built into ``$PLAYGROUND_CACHE/kernels``, a folder that only the process's user may write
  (created 0700; a folder that others may write is made private, or refused if it is not ours);
- its name carries a key over everything that decides the machine code: the source, the
  compiler's path and version, and the flags, so a new compiler or a changed source builds anew;
- the SHA-256 of the library file is recorded beside it when it is built, and a library whose
  bytes no longer match its record (truncated, replaced, half-written) is rebuilt, not loaded.

x86-64 Linux with AVX2 and FMA, a C compiler (``$CC``, ``cc`` or ``gcc``) and OpenMP are needed;
``PLAYGROUND_INT8=0`` turns the compiled paths off. Where a library cannot be had, ``library``
returns the reason and the caller decodes through transformers instead.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

FLAGS = ("-O3", "-mavx2", "-mfma", "-fopenmp", "-shared", "-fPIC")
LIBRARIES = ("-lm",)


def kernel_folder() -> Path:
    from playground.packaged import default_cache_dir

    return default_cache_dir() / "kernels"


def library(name: str, source: str) -> tuple[ctypes.CDLL | None, str | None]:
    """The compiled ``source`` as a loaded library, building it if needed; or (None, why not)."""
    if os.environ.get("PLAYGROUND_INT8", "1").strip().lower() in ("0", "false", "no", "off"):
        return None, "turned off by PLAYGROUND_INT8=0"
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None, f"the kernels are written for x86-64 Linux, this is {platform.system()} {platform.machine()}"
    if not {"avx2", "fma"} <= _cpu_flags():
        return None, "this CPU lacks AVX2 or FMA"
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        return None, "no C compiler (cc) to build the kernels with"
    try:
        folder = private_folder(kernel_folder())
        target = folder / f"{name}-{build_key(source, compiler)[:24]}.so"
        if not matches_record(target):
            reason = _compile(source, compiler, target)
            if reason:
                return None, reason
        return ctypes.CDLL(str(target)), None
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"building or loading the kernel failed: {exc}"


def build_key(source: str, compiler: str) -> str:
    """SHA-256 over the source, the compiler (its resolved path and version) and the flags."""
    parts = [source, str(Path(shutil.which(compiler) or compiler).resolve()), _compiler_version(compiler)]
    parts += [*FLAGS, *LIBRARIES]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def private_folder(folder: Path) -> Path:
    """``folder``, created 0700, or made private if it is ours; refused if another user owns it
    or anyone else may write to it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.stat()
    if info.st_uid != os.getuid():
        raise OSError(f"the kernel folder {folder} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)
    return folder


def record_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def matches_record(target: Path) -> bool:
    """Whether ``target`` exists and its bytes hash to the SHA-256 recorded when it was built."""
    try:
        recorded = record_path(target).read_text().strip()
        return recorded == _sha256(target)
    except OSError:
        return False


def _compile(source: str, compiler: str, target: Path) -> str | None:
    """Build ``target`` and its record; both are renamed into place only when whole."""
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        path, built = Path(work) / "source.c", Path(work) / target.name
        path.write_text(source)
        command = [compiler, *FLAGS, str(path), "-o", str(built), *LIBRARIES]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            return f"compiling the kernel failed: {done.stderr.strip()[-300:]}"
        record = Path(work) / "record"
        record.write_text(_sha256(built))
        os.replace(built, target)  # another process may load it meanwhile: whole or not at all
        os.replace(record, record_path(target))
    log.info("built %s", target.name)
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _compiler_version(compiler: str) -> str:
    try:
        done = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())
