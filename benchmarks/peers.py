"""benchmarks/.venv: the peer frameworks (torchmetrics, ragas), kept out of the project's environment.

ragas pins versions that rageval's environment does not have (rich 13 among them), so the peers
get an environment of their own. It sees the project's environment beneath its own packages
(a ``.pth`` file), so torch, sacrebleu and jiwer are the very same installs the rageval runs use
and pip never fetches another torch (``torch==<installed version>`` is passed as a constraint).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path

from harness import PEER_PYTHON, REPO

REQUIREMENTS = REPO / "benchmarks" / "requirements.txt"
VENV = PEER_PYTHON.parents[1]
STAMP = VENV / ".requirements-installed"


def ensure_peer_venv() -> str | None:
    """Create or update benchmarks/.venv; the reason the peers cannot run, or ``None`` when they can."""
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "torch is not installed in the project's environment (pip install -e '.[models]')"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes() + torch_version.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and PEER_PYTHON.exists():
        return None
    print(f"setting up {VENV} (torchmetrics, ragas) ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="rageval-bench-") as temporary:
        constraints = Path(temporary, "constraints.txt")
        constraints.write_text(f"torch=={torch_version}\n", encoding="utf-8")
        try:
            if not PEER_PYTHON.exists():
                subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            purelib = subprocess.run(
                [str(PEER_PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            beneath = sysconfig.get_paths()["purelib"]
            Path(purelib, "_rageval_project.pth").write_text(beneath + "\n", encoding="utf-8")
            install = [str(PEER_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*install, "-r", str(REQUIREMENTS), "-c", str(constraints)], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            return f"could not set up {VENV}: {exc}"
    STAMP.write_text(wanted + "\n", encoding="utf-8")
    return None
