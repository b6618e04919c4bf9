"""Support modules: make blocking libraries cooperative. Each is enabled on
`import guv` when its library is importable; GUV_SUPPORT=0 in the
environment turns that off (enable them one by one with guv.support.X.enable())."""
import importlib.util
import os

_DEFAULT = ("psycopg2",)


def enable_default():
    if os.environ.get("GUV_SUPPORT", "1") == "0":
        return
    for name in _DEFAULT:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(f"{__name__}.{name}").enable()


def get_errno(exc):
    """The errno of an exception: exc.errno, else its first argument when
    that is one (old socket.error style), else None."""
    errno = getattr(exc, "errno", None)
    if errno is not None:
        return errno
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
