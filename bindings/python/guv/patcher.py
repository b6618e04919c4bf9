"""monkey_patch and import_patched: the standard library made cooperative.

    import guv.patcher
    guv.patcher.monkey_patch()          # before anything starts threads or sockets
    import requests                     # pure-Python libraries now yield to guv

monkey_patch() patches the modules in sys.modules in place, so code that
imported them first (`import socket; socket.socket(...)`) is covered, and
so is ssl imported before patching (guv.green.ssl says why). Objects made
before the patch (an open socket, a started OS thread) stay as they were.

import_patched(name) imports a private copy of module `name` that sees green
socket/select/selectors/time/ssl/thread/os copies, leaving sys.modules
unpatched, as eventlet.import_patched does."""
import importlib
import importlib.util
import sys
import types

from .green import os as green_os
from .green import select as green_select
from .green import signal as green_signal
from .green import selectors as green_selectors
from .green import socket as green_socket
from .green import ssl as green_ssl
from .green import subprocess as green_subprocess
from .green import thread as green_thread
from .green import time as green_time
from . import support

# What each keyword patches: (module, patch function, whether module is pure
# Python and so must be copied by executing its source, not its dict).
_PATCHES = {
    "os": [("os", green_os.patch, False)],
    "select": [("select", green_select.patch, False), ("selectors", green_selectors.patch, True)],
    "socket": [("socket", green_socket.patch, True)],
    "ssl": [("ssl", green_ssl.patch, True)],
    "thread": [("_thread", green_thread.patch_thread, False), ("threading", green_thread.patch_threading, True),
               ("queue", green_thread.patch_queue, True), ("_queue", green_thread.patch_c_queue, False)],
    "time": [("time", green_time.patch, False)],
    "signal": [("signal", green_signal.patch, False)],
    "subprocess": [("subprocess", green_subprocess.patch, True)],
}
# Support modules for C drivers (guv.support), enabled by keyword.
_SUPPORT = tuple(support.DRIVERS)

# C modules that code imports afresh to get at the C types (CPython's tests,
# through import_fresh_module): each new copy is patched as it is imported.
_REPATCHED_ON_IMPORT = ("_queue",)

_patched = set()
# Module name -> its namespace as it was before monkey_patch changed it.
_before = {}


def _selected(kw):
    """eventlet's rule: no keyword -> everything; some True -> only those;
    only False ones -> everything but those."""
    unknown = set(kw) - set(_PATCHES) - set(_SUPPORT) - {"all"}
    if unknown:
        raise TypeError(f"monkey_patch: unknown module(s) {', '.join(sorted(unknown))}")
    default = kw.pop("all", None)
    on = {k for k, v in kw.items() if v}
    if default is None:
        default = not on
    names = {k for k in list(_PATCHES) + list(_SUPPORT) if kw.get(k, default)}
    if "socket" in names and "ssl" not in kw:
        names.add("ssl")  # a green socket under a blocking SSLSocket would still block
    return [k for k in list(_PATCHES) + list(_SUPPORT) if k in names]


def monkey_patch(**kw):
    """Patch the standard library in place: monkey_patch(os=True, select=True,
    socket=True, ssl=True, thread=True, time=True, subprocess=True, signal=True,
    psycopg2=True, psycopg=True, pymysql=True, psycopg2cffi=True).
    A driver's support is switched on when the driver is installed; one
    asked for by name (psycopg2=True) must be."""
    for key in _selected(kw):
        if key in _SUPPORT:
            if kw.get(key) or support.installed(key):
                support.enable(key)
                _patched.add(key)
            continue
        for modname, patch, _ in _PATCHES[key]:
            if modname not in _patched:
                module = importlib.import_module(modname)
                _before[modname] = dict(module.__dict__)
                patch(module)
                _patched.add(modname)
                if modname in _REPATCHED_ON_IMPORT:
                    _RepatchOnImport.install(modname, patch)
        _patched.add(key)


class _RepatchOnImport:
    """A sys.meta_path finder: a later import of a patched module that is no
    longer in sys.modules gets the module patched too."""

    _patches = {}

    @classmethod
    def install(cls, modname, patch):
        if not cls._patches:
            sys.meta_path.insert(0, cls)
        cls._patches[modname] = patch

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        patch = cls._patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is not cls and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    spec.loader = _PatchingLoader(spec.loader, patch)
                    return spec
        return None

    @classmethod
    def invalidate_caches(cls):
        pass


class _PatchingLoader:
    def __init__(self, loader, patch):
        self.loader, self.patch = loader, patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.patch(module)


def is_monkey_patched(name):
    """Whether monkey_patch() has patched module (or keyword) `name`."""
    return name in _patched


def original(modname):
    """Module `modname` as it was before monkey_patch(): a copy holding the
    unpatched names (the module itself when it was never patched)."""
    if modname not in _before:
        return importlib.import_module(modname)
    copy = types.ModuleType(modname)
    copy.__dict__.update(_before[modname])
    return copy


def _green_copy(modname, patch, from_source):
    """A private copy of stdlib module `modname`, patched; it is put in
    sys.modules while its source runs (modules such as ssl look themselves up)."""
    if from_source:
        spec = importlib.util.find_spec(modname)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
    else:
        original = importlib.import_module(modname)
        mod = types.ModuleType(modname, original.__doc__)
        mod.__dict__.update(original.__dict__)
        sys.modules[modname] = mod
    patch(mod)
    return mod


def import_patched(module_name, **kw):
    """Import a fresh copy of `module_name` in which the standard modules it
    imports are green copies (keywords as monkey_patch's, support modules
    and signal excepted: handlers are the process's); sys.modules and every
    other importer are left as they were."""
    keys = [k for k in _selected(kw) if k in _PATCHES and k != "signal"]
    saved = {}
    try:
        for key in keys:
            for modname, patch, from_source in _PATCHES[key]:
                if modname not in saved:
                    saved[modname] = sys.modules.get(modname)
                _green_copy(modname, patch, from_source)
        if module_name not in saved:
            saved[module_name] = sys.modules.pop(module_name, None)
        # Importing a.b sets attribute b of package a: the copy must not replace it there.
        parent_name, _, child = module_name.rpartition(".")
        parent = importlib.import_module(parent_name) if parent_name else None
        attr = getattr(parent, child, None) if parent else None
        try:
            return importlib.import_module(module_name)
        finally:
            if parent is not None and attr is not None:
                setattr(parent, child, attr)
    finally:
        for modname, mod in saved.items():
            if mod is None:
                sys.modules.pop(modname, None)
            else:
                sys.modules[modname] = mod


__all__ = ["monkey_patch", "import_patched", "is_monkey_patched", "original"]
