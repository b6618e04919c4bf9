"""Builds guv._core, a small C extension on the CPython C API, and puts
libguv.so and libguv_hook.so inside the package, so `pip install` alone
gives a guv that runs (as gevent ships libev and psycopg2-binary libpq).

A C extension rather than cffi: the binding has to hand PyObject pointers to
C and create, attach and delete PyThreadStates on green-thread stacks, which
cffi cannot express without a C helper anyway, and every switch pays the call
overhead (cffi's is several times a METH_O call's).

_core does not link libguv; guv/_lib.py loads it at import time. The build:
- libguv.so: `cargo build --release` of the guv crate (GUV_LIBRARY names a
  built one to copy instead). The crate is the repository around
  bindings/python, the copy an sdist carries in crate/, or GUV_CRATE.
- libguv_hook.so: hook/*.c compiled with the C compiler that builds _core,
  linked against that libguv and finding it beside itself ($ORIGIN).
CARGO (the cargo to run) and CARGO_TARGET_DIR are cargo's own variables.
"""
import json
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
# What of the crate an sdist carries: enough for `cargo build --release` and the hook.
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "cbindgen.toml", "src", "include", "hook", "vendor", "benches/core.rs"]


def is_crate(path):
    return os.path.isfile(os.path.join(path, "Cargo.toml")) and os.path.isdir(os.path.join(path, "hook"))


def find_crate():
    """The guv crate's sources: GUV_CRATE, the sdist's crate/, then the repository."""
    for path in (os.environ.get("GUV_CRATE"), os.path.join(HERE, "crate"), os.path.join(HERE, "..", "..")):
        if path and is_crate(path):
            return os.path.normpath(path)
    return None


CRATE = find_crate()
INCLUDE = os.environ.get("GUV_INCLUDE") or (os.path.join(CRATE, "include") if CRATE else "include")


def cargo_build(crate):
    """Builds the release libguv.so and returns its path, as cargo reports it."""
    cargo = os.environ.get("CARGO", "cargo")
    if not shutil.which(cargo):
        raise SystemExit("guv: building libguv needs cargo (https://rustup.rs); "
                         "or set GUV_LIBRARY to a built libguv.so")
    out = subprocess.run([cargo, "build", "--release", "--lib", "--message-format=json-render-diagnostics",
                          "--manifest-path", os.path.join(crate, "Cargo.toml")],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "guv":
            for f in msg["filenames"]:
                if f.endswith("/libguv.so"):
                    return f
    raise SystemExit("guv: cargo built no libguv.so")


class BuildExtWithLibguv(build_ext):
    def run(self):
        super().run()
        if CRATE is None:
            raise SystemExit("guv: the guv crate's sources are not here (not a repository checkout, "
                             "not an sdist with crate/); set GUV_CRATE to them")
        dest = os.path.join(self.build_lib, "guv")
        os.makedirs(dest, exist_ok=True)
        libguv = os.path.join(dest, "libguv.so")
        shutil.copyfile(os.environ.get("GUV_LIBRARY") or cargo_build(CRATE), libguv)
        # For drivers written with cffi or ctypes (guv.native.include_dir()).
        os.makedirs(os.path.join(dest, "include"), exist_ok=True)
        shutil.copyfile(os.path.join(INCLUDE, "guv.h"), os.path.join(dest, "include", "guv.h"))
        self.build_hook(os.path.join(CRATE, "hook"), dest)

    def build_hook(self, src, dest):
        sources = sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".c"))
        objects = self.compiler.compile(sources, output_dir=os.path.join(self.build_temp, "hook"),
                                        include_dirs=[INCLUDE], extra_postargs=["-fvisibility=default"])
        # -z defs: a symbol the hook forgets to get from libguv or libc fails here, not at dlopen.
        self.compiler.link_shared_object(objects, os.path.join(dest, "libguv_hook.so"), library_dirs=[dest],
                                         libraries=["guv", "dl"],
                                         extra_postargs=["-Wl,-soname,libguv_hook.so.0", "-Wl,-z,defs",
                                                         "-Wl,-rpath,$ORIGIN"])


class SdistWithCrate(sdist):
    """An sdist carries the crate in crate/, so it builds away from the repository."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        if CRATE is None:
            raise SystemExit("guv: sdist needs the guv crate's sources (GUV_CRATE)")
        for name in CRATE_FILES:
            src, dst = os.path.join(CRATE, name), os.path.join(base_dir, "crate", name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target", "*.o", "__pycache__"))
            else:
                shutil.copyfile(src, dst)


setup(
    ext_modules=[
        Extension(
            "guv._core",
            sources=["guv/_core.c"],
            include_dirs=[INCLUDE],
            extra_compile_args=["-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"],
            libraries=["dl"],
        )
    ],
    cmdclass={"build_ext": BuildExtWithLibguv, "sdist": SdistWithCrate},
)
