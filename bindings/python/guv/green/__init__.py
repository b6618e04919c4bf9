"""Cooperative stand-ins for the standard library's blocking modules.

Each module here patches one stdlib module in place (`patch(module)`):
guv.monkey_patch() applies them to the modules in sys.modules, and
guv.patcher.import_patched() applies them to private copies, so only the
module it imports sees green versions."""
