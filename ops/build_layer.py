"""`python -m ops.build_layer STAGE OUT.zip`: the Lambda layer of the sign-in and LDAP libraries.

`make package` runs it beside `chalice package`. The function zip keeps what every cold start
needs (requirements.txt: pydantic, Jinja2, tzdata); PyJWT, cryptography and ldap3
(requirements-layer.txt) are in this layer, imported only on the sign-in callback and where a
directory over LDAP is configured. pip installs Linux wheels for the stage's runtime and
architecture whatever machine builds it: the Python version of this interpreter (the one
`chalice package` writes as the runtime) and `lambda_architecture` of .chalice/config.json, with
no wheel newer than the runtime's glibc (python3.11: Amazon Linux 2, glibc 2.26). Chalice's own
`automatic_layer` is not used: it would move vendor/ (templates, policies, app.py's bytecode)
into the layer too, where the app does not look for them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess  # nosec B404
import sys
import tempfile
import zipfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT_ROOT / "requirements-layer.txt"
# The glibc of each Lambda Python runtime (python3.12 and later run on Amazon Linux 2023).
RUNTIME_GLIBC = {"3.11": 26, "3.12": 34, "3.13": 34}
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Layers are unpacked under /opt; /opt/python is on every Python runtime's sys.path.
LAYER_PREFIX = "python"
# A fixed timestamp, so the same wheels give the same zip (and CloudFormation no new version).
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def architecture(stage: str, config: Path = PROJECT_ROOT / ".chalice" / "config.json") -> str:
    """Return the stage's Lambda architecture as Chalice reads it (default x86_64)."""
    settings = json.loads(config.read_text(encoding="utf-8"))
    stage_settings = settings.get("stages", {}).get(stage, {})
    return str(
        stage_settings.get("lambda_architecture", settings.get("lambda_architecture", "x86_64"))
    )


def platforms(python: str, arch: str) -> list[str]:
    """Return the pip platform tags a wheel may have to run on that runtime and architecture."""
    machine = MACHINES[arch]
    newest = RUNTIME_GLIBC[python]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(newest, 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def install(target: Path, python: str, arch: str, requirements: Path = REQUIREMENTS) -> None:
    """Install the layer's requirements into `target` as Lambda wheels (binary only)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in platforms(python, arch):
        command += ["--platform", tag]
    command += ["--target", str(target), "-r", str(requirements)]
    # The command is built here from fixed options and the project's requirements file.
    subprocess.run(command, check=True)  # noqa: S603  # nosec B603


def write_zip(folder: Path, out: Path) -> int:
    """Zip `folder` under python/ (sorted, fixed times); return the zip's size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            name = f"{LAYER_PREFIX}/{path.relative_to(folder).as_posix()}"
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Build the layer zip for a stage; print its size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = architecture(args.stage)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "site"
        install(folder, python, arch)
        # Scripts pip adds (console entry points) are no use in a layer.
        shutil.rmtree(folder / "bin", ignore_errors=True)
        size = write_zip(folder, args.out)
    sys.stdout.write(f"Layer: {args.out} ({size} bytes, python{python}, {arch})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
