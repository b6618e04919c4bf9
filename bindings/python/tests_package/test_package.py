"""The built packages (make test-python-package builds them into GUV_PKG_DIR):
each wheel, and `pip install` of the tree, installed into a fresh venv and
run there with no cargo on PATH and no GUV_LIBRARY (installed_check.py)."""
import glob
import os
import subprocess
import sys

import pytest

PKG_DIR = os.environ["GUV_PKG_DIR"]
CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "installed_check.py")
# Where python and the C tools are, but not cargo (~/.cargo/bin).
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def wheels():
    found = sorted(glob.glob(os.path.join(PKG_DIR, "*", "*.whl")))
    assert found, f"no wheels under {PKG_DIR}"
    return found


def python_for(wheel):
    tag = os.path.basename(wheel).split("-")[2]  # cp311
    version = f"{tag[2]}.{tag[3:]}"
    for py in os.environ["GUV_PKG_PYTHONS"].split():
        if os.path.basename(py) == f"python{version}":
            return py
    raise AssertionError(f"no python{version} for {wheel}")


def check_in_venv(venv):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUV_", "CARGO", "PYTHON"))}
    env["PATH"] = os.path.join(venv, "bin") + ":" + BARE_PATH
    r = subprocess.run([os.path.join(venv, "bin", "python"), CHECK], cwd=venv, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    print(r.stdout)


@pytest.mark.parametrize("wheel", wheels(), ids=lambda w: "/".join(w.split("/")[-2:]))
def test_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    venv = str(tmp_path / "venv")
    py = python_for(wheel)
    # The interpreter's own pip installs into the venv (--python): a venv with
    # a pip of its own costs seconds each.
    subprocess.run([py, "-m", "venv", "--without-pip", venv], check=True)
    subprocess.run([py, "-m", "pip", "--python", os.path.join(venv, "bin", "python"), "install", "-q",
                    "--no-index", "--no-deps", wheel], check=True)
    check_in_venv(venv)


def test_the_sdist_carries_the_crate():
    sdists = glob.glob(os.path.join(PKG_DIR, "sdist", "guv-*.tar.gz"))
    assert len(sdists) == 1, sdists
    names = subprocess.run(["tar", "tzf", sdists[0]], capture_output=True, text=True, check=True).stdout.split()
    for member in ("crate/Cargo.toml", "crate/Cargo.lock", "crate/src/lib.rs", "crate/include/guv.h",
                   "crate/hook/hook.h", "setup.py", "guv/_core.c"):
        assert any(n.endswith("/" + member) for n in names), member


def test_pip_install_of_the_tree_in_a_venv(tmp_path):
    # A fresh copy of the tree (no target/, no build/): pip builds libguv itself.
    tree = os.path.join(PKG_DIR, "tree", "bindings", "python")
    assert not os.path.exists(os.path.join(PKG_DIR, "tree", "target"))
    venv = str(tmp_path / "venv")
    py = os.environ["GUV_PKG_PYTHONS"].split()[0]
    # System site-packages give the build its setuptools without the network.
    subprocess.run([py, "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)
    subprocess.run([py, "-m", "pip", "--python", os.path.join(venv, "bin", "python"), "install", "-q",
                    "--no-build-isolation", "--no-deps", tree],
                   check=True, env={k: v for k, v in os.environ.items() if k != "GUV_LIBRARY"})
    check_in_venv(venv)
