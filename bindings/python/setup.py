"""Builds guv._core, a small C extension on the CPython C API.

A C extension rather than cffi: the binding has to hand PyObject pointers to
C and create, attach and delete PyThreadStates on green-thread stacks, which
cffi cannot express without a C helper anyway, and every switch pays the call
overhead (cffi's is several times a METH_O call's).

libguv is not linked; guv/_lib.py finds it at import time. When a built
libguv is at hand (GUV_LIBRARY, or the repository's target/), a copy is
installed inside the package so an installed guv works on its own.
"""
import os
import shutil

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def built_libguv():
    candidates = [os.environ.get("GUV_LIBRARY", "")]
    candidates += [os.path.join(REPO, "target", p, "libguv.so") for p in ("release", "debug")]
    return next((c for c in candidates if c and os.path.isfile(c)), None)


class BuildPyWithLibguv(build_py):
    def run(self):
        super().run()
        lib = built_libguv()
        if lib:
            shutil.copyfile(lib, os.path.join(self.build_lib, "guv", "libguv.so"))


setup(
    ext_modules=[
        Extension(
            "guv._core",
            sources=["guv/_core.c"],
            include_dirs=[os.environ.get("GUV_INCLUDE", os.path.join(REPO, "include"))],
            extra_compile_args=["-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"],
            libraries=["dl"],
        )
    ],
    cmdclass={"build_py": BuildPyWithLibguv},
)
