"""How a guv.green module becomes a whole green stand-in for its stdlib
module (eventlet.green-style, `from guv.green import socket`) without
patching the process's own: either it inherits the stdlib module's names it
does not define (functions that look up a green name at call time are
copied with their globals pointing at the green names), or it is a private
copy of the stdlib module's source, executed while sys.modules holds green
modules for what it imports, and then restored."""
import importlib.util
import sys
import types


def inherit(green_globals, module, green_names=(), rebind=(), exclude=()):
    """Give `green_globals` every name of `module` it lacks (underscored ones
    too: http.client reads socket._GLOBAL_DEFAULT_TIMEOUT). The functions
    named in `rebind` are copied so that the names in `green_names` they use
    are the green module's."""
    ns = dict(vars(module))
    for name in green_names:
        ns[name] = green_globals[name]
    for name in rebind:
        fn = ns[name]
        copy = types.FunctionType(fn.__code__, ns, fn.__name__, fn.__defaults__, fn.__closure__)
        copy.__kwdefaults__ = fn.__kwdefaults__
        copy.__doc__, copy.__qualname__ = fn.__doc__, fn.__qualname__
        ns[name] = green_globals[name] = copy
    for name, value in vars(module).items():
        if not (name.startswith("__") and name.endswith("__")) and name not in exclude:
            green_globals.setdefault(name, value)
    return ns


def private_copy(modname, patch=None, **imports):
    """A fresh module made by running stdlib `modname`'s source while
    sys.modules maps each name in `imports` to the given (green) module;
    patch(module) is applied to it, and sys.modules is left as it was."""
    # The real module first: whatever it imports that is not loaded yet is
    # loaded now with the real modules, not with the green ones below.
    importlib.import_module(modname)
    saved = {name: sys.modules.get(name) for name in (modname, *imports)}
    try:
        sys.modules.update(imports)
        spec = importlib.util.find_spec(modname)
        module = importlib.util.module_from_spec(spec)
        # Modules such as ssl and socket look themselves up while they load.
        sys.modules[modname] = module
        spec.loader.exec_module(module)
        if patch is not None:
            patch(module)
        return module
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def dict_copy(modname, patch):
    """A copy of built-in module `modname` (a C module has no source to run), patched."""
    original = importlib.import_module(modname)
    module = types.ModuleType(modname, original.__doc__)
    module.__dict__.update(original.__dict__)
    patch(module)
    return module
