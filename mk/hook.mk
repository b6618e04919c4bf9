# libguv_hook.so (issue 6): libc's blocking calls interposed, so unmodified
# libraries and programs cooperate inside green threads. Sources in hook/,
# tests in tests/hook/.
#
#   make hook            build $(BUILD)/libguv_hook.so (against target/debug/libguv.so)
#   make test-hook       libpq, hiredis, MariaDB and libcurl with 50 green threads
#                        each, the fd/sleep/poll wrappers, and byte-for-byte
#                        pass-through of ordinary programs under LD_PRELOAD
#   make test-hook-python  CPython sockets, time.sleep and psycopg2 without a wait
#                        callback, with the guv binding under LD_PRELOAD
#   make test-hook-install the installed copy through pkg-config, CMake and LD_PRELOAD
#   make install-hook    lib/libguv_hook.so (release, against the installed
#                        libguv.so.0), pkgconfig/guv-hook.pc, cmake/guv/guvHookTargets.cmake
#
# Use: LD_PRELOAD=libguv_hook.so ./prog, or link with
# `pkg-config --libs guv-hook` (CMake: guv::hook) ahead of the C libraries.

HOOK_SRCS   := $(sort $(wildcard hook/*.c))
HOOK_HDRS   := hook/hook.h include/guv.h
HOOK_SO     := $(BUILD)/libguv_hook.so
HOOK_CFLAGS := $(GUV_CFLAGS) -fPIC -fvisibility=default
HOOK_LINK   = -shared -Wl,-soname,libguv_hook.so.0 -Wl,-z,defs -L$(1) -lguv -ldl
HOOK_OUT    := $(BUILD)/hook
HOOK_TDIR   := tests/hook
HOOK_PKGS   := libpq-dev libmariadb-dev libhiredis-dev libcurl4-openssl-dev pkg-config
# A test program links the hook at build time, ahead of libc, as users do;
# push-state keeps --as-needed from dropping it (no test calls it by name).
HOOK_TEST_LIBS = -Wl,--push-state,--no-as-needed -L$(abspath $(BUILD)) -lguv_hook -Wl,--pop-state \
	-L$(TARGET) -lguv -Wl,-rpath,$(abspath $(BUILD)) -Wl,-rpath,$(TARGET)
HOOK_TIMEOUT ?= 60

.PHONY: hook test-hook deps-hook install-hook uninstall-hook test-hook-install test-hook-python

hook: $(HOOK_SO)

$(HOOK_SO): $(HOOK_SRCS) $(HOOK_HDRS) $(wildcard $(GUV_SO)) | lib
	@mkdir -p $(@D)
	$(CC) $(HOOK_CFLAGS) -o $@ $(HOOK_SRCS) $(call HOOK_LINK,$(TARGET)) -Wl,-rpath,$(TARGET)
	ln -sfn libguv_hook.so $(BUILD)/libguv_hook.so.0

deps-hook:
	@missing=""; for p in $(HOOK_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  apt-get -o DPkg::Lock::Timeout=300 update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q $$missing; \
	fi

$(HOOK_OUT)/test_pq:    HOOK_PKG := libpq
$(HOOK_OUT)/test_mysql: HOOK_PKG := libmariadb
$(HOOK_OUT)/test_redis: HOOK_PKG := hiredis
$(HOOK_OUT)/test_curl:  HOOK_PKG := libcurl
hook_pkg_flags = $(if $(HOOK_PKG),$(shell pkg-config --cflags --libs $(HOOK_PKG)))

$(HOOK_OUT)/test_%: $(HOOK_TDIR)/test_%.c $(HOOK_TDIR)/hook_test.h tests/c/test.h tests/drivers/drivers.h $(HOOK_SO) | deps-hook
	@mkdir -p $(@D)
	$(CC) $(GUV_CFLAGS) -D_GNU_SOURCE -I$(ROOT)/tests/c -I$(ROOT)/tests/drivers -o $@ $< \
		$(HOOK_TEST_LIBS) $(hook_pkg_flags) -lpthread

# The pass-through program is built without the hook: LD_PRELOAD adds it.
$(HOOK_OUT)/passthru: $(HOOK_TDIR)/passthru.c
	@mkdir -p $(@D)
	$(CC) $(GUV_CFLAGS) -D_GNU_SOURCE -o $@ $< -lpthread

HOOK_TESTS := $(patsubst $(HOOK_TDIR)/%.c,%,$(sort $(wildcard $(HOOK_TDIR)/test_*.c)))

test-hook: $(addprefix $(HOOK_OUT)/,$(HOOK_TESTS)) $(HOOK_OUT)/passthru
	@for t in $(HOOK_TESTS); do \
	  echo "== $$t"; timeout $(HOOK_TIMEOUT) $(HOOK_OUT)/$$t || { echo "FAILED: $$t"; exit 1; }; \
	done
	@echo "== passthru"
	@HOOK_SO=$(abspath $(HOOK_SO)) PASSTHRU=$(abspath $(HOOK_OUT)/passthru) \
	  timeout $(HOOK_TIMEOUT) bash $(HOOK_TDIR)/passthru.sh || { echo "FAILED: passthru"; exit 1; }
	@echo "test-hook: passed"

# The installed copy: release build, linked against the installed libguv.so.0
# and finding it next to itself ($$ORIGIN), so LD_PRELOAD needs no library path.
# Uses install's variables (mk/packaging.mk): GUV_DEST, LIBDIR, GUV_SUBST.
HOOK_RELEASE  := $(BUILD)/hook-release/libguv_hook.so
HOOK_REALNAME  = libguv_hook.so.$(GUV_VERSION)
HOOK_INSTALLED = $(LIBDIR)/$(HOOK_REALNAME) $(LIBDIR)/libguv_hook.so.0 $(LIBDIR)/libguv_hook.so \
	$(LIBDIR)/pkgconfig/guv-hook.pc $(LIBDIR)/cmake/guv/guvHookTargets.cmake

$(HOOK_RELEASE): $(HOOK_SRCS) $(HOOK_HDRS) lib-release
	@mkdir -p $(@D)
	$(CC) $(HOOK_CFLAGS) -O2 -o $@ $(HOOK_SRCS) $(call HOOK_LINK,$(GUV_RELEASE)) -Wl,-rpath,'$$ORIGIN'

install-hook: $(HOOK_RELEASE)
	install -d $(GUV_DEST)/$(LIBDIR)/pkgconfig $(GUV_DEST)/$(LIBDIR)/cmake/guv
	install -m 755 $(HOOK_RELEASE) $(GUV_DEST)/$(LIBDIR)/$(HOOK_REALNAME)
	ln -sfn $(HOOK_REALNAME) $(GUV_DEST)/$(LIBDIR)/libguv_hook.so.0
	ln -sfn libguv_hook.so.0 $(GUV_DEST)/$(LIBDIR)/libguv_hook.so
	$(GUV_SUBST) $(ROOT)/guv-hook.pc.in > $(GUV_DEST)/$(LIBDIR)/pkgconfig/guv-hook.pc
	$(GUV_SUBST) $(ROOT)/cmake/guvHookTargets.cmake.in > $(GUV_DEST)/$(LIBDIR)/cmake/guv/guvHookTargets.cmake
	chmod 644 $(GUV_DEST)/$(LIBDIR)/pkgconfig/guv-hook.pc $(GUV_DEST)/$(LIBDIR)/cmake/guv/guvHookTargets.cmake

uninstall-hook:
	rm -f $(addprefix $(GUV_DEST)/,$(HOOK_INSTALLED))

# Installs guv and the hook under a scratch prefix and builds a consumer the
# ways users do: pkg-config guv-hook, and CMake guv::hook.
test-hook-install: deps-hook deps-packaging
	ROOT=$(ROOT) BUILD=$(abspath $(BUILD))/hook-install MAKE="$(MAKE)" CC="$(CC)" \
		bash $(ROOT)/$(HOOK_TDIR)/install.sh

# CPython with the guv binding (mk/python.mk installs it) under the preloaded
# hook: the one libguv both use is target/debug's, so there is one hub.
test-hook-python: $(HOOK_SO) python-install
	@py=$(firstword $(PYTHONS)); v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== test-hook-python: $$py"; \
	  cd $(PY_OUT)/$$v && PYTHONPATH=. GUV_LIBRARY=$(GUV_SO) LD_PRELOAD=$(abspath $(HOOK_SO)) \
	    timeout $(HOOK_TIMEOUT) $$py $(ROOT)/$(HOOK_TDIR)/test_python.py

TEST_TARGETS += test-hook test-hook-python test-hook-install

# `make install` installs the hook library with guv itself (issue 6: lib/libguv_hook.so).
install: install-hook
uninstall: uninstall-hook
