# Packaging (issue 3): the release build with a real soname, `make install`
# and `make uninstall` (libraries, headers, guv.pc, the CMake package),
# `make demo`, and test-packaging, which builds C, C++ and CMake consumers
# against installed copies the way users do.
#
#   make install PREFIX=/opt/guv [DESTDIR=/stage] [LIBDIR=lib] [INCLUDEDIR=include]
#
# LIBDIR and INCLUDEDIR are relative to PREFIX (lib/x86_64-linux-gnu works).

LIBDIR     ?= lib
INCLUDEDIR ?= include
$(if $(filter /%,$(LIBDIR) $(INCLUDEDIR)),$(error LIBDIR and INCLUDEDIR are relative to PREFIX))

GUV_VERSION       := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' $(ROOT)/Cargo.toml | head -n 1)
GUV_VERSION_MAJOR := $(word 1,$(subst ., ,$(GUV_VERSION)))
GUV_VERSION_MINOR := $(word 2,$(subst ., ,$(GUV_VERSION)))
GUV_SONAME        := libguv.so.$(GUV_VERSION_MAJOR)
GUV_REALNAME      := libguv.so.$(GUV_VERSION)

# The installed library is built in a target directory of its own: the soname
# is a link argument, and sharing target/release with a plain
# `cargo build --release` would let each build overwrite (and redo) the other.
GUV_PKG_TARGET    := $(ROOT)/target/package
GUV_RELEASE       := $(GUV_PKG_TARGET)/release
GUV_RELEASE_BUILD := CARGO_TARGET_DIR=$(GUV_PKG_TARGET) $(CARGO) rustc \
	--manifest-path $(ROOT)/Cargo.toml --release --lib --crate-type staticlib,cdylib \
	-- -C link-arg=-Wl,-soname,$(GUV_SONAME) --print native-static-libs

GUV_EMPTY :=
GUV_SPACE := $(GUV_EMPTY) $(GUV_EMPTY)
# From $(LIBDIR)/cmake/guv back up to the prefix: guvConfig.cmake finds
# everything relative to itself, so an installed tree can be moved.
GUV_CMAKE_TO_PREFIX := $(subst $(GUV_SPACE),/,$(foreach d,$(subst /, ,$(LIBDIR)/cmake/guv),..))
# Libs.private as CMake link items; pthread comes through Threads::Threads.
GUV_CMAKE_STATIC_DEPS := $(subst $(GUV_SPACE),;,$(patsubst -l%,%,$(patsubst -lpthread,Threads::Threads,$(GUV_NATIVE_LIBS))))

GUV_SUPPORT_HEADERS := $(patsubst $(ROOT)/include/%,%,$(sort $(shell find $(ROOT)/include/guv -type f 2>/dev/null)))
GUV_HPP             := $(wildcard $(ROOT)/bindings/cpp/guv.hpp)
GUV_DEST             = $(DESTDIR)$(PREFIX)
# Everything install puts under the prefix; uninstall removes this list.
GUV_INSTALLED = $(LIBDIR)/libguv.a $(LIBDIR)/$(GUV_REALNAME) $(LIBDIR)/$(GUV_SONAME) $(LIBDIR)/libguv.so \
	$(INCLUDEDIR)/guv.h $(addprefix $(INCLUDEDIR)/,$(GUV_SUPPORT_HEADERS)) \
	$(if $(GUV_HPP),$(INCLUDEDIR)/guv.hpp) \
	$(LIBDIR)/pkgconfig/guv.pc $(LIBDIR)/cmake/guv/guvConfig.cmake $(LIBDIR)/cmake/guv/guvConfigVersion.cmake

GUV_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@VERSION@|$(GUV_VERSION)|g' -e 's|@VERSION_MAJOR@|$(GUV_VERSION_MAJOR)|g' \
	-e 's|@VERSION_MINOR@|$(GUV_VERSION_MINOR)|g' -e 's|@SONAME@|$(GUV_SONAME)|g' \
	-e 's|@REALNAME@|$(GUV_REALNAME)|g' -e 's|@CMAKE_TO_PREFIX@|$(GUV_CMAKE_TO_PREFIX)|g' \
	-e 's|@STATIC_DEPS@|$(GUV_CMAKE_STATIC_DEPS)|g' \
	-e 's|@SIZEOF_VOID_P@|$(if $(filter 64,$(shell getconf LONG_BIT)),8,4)|g'

# Debian packages the packaging tests need; installed only when missing.
GUV_PACKAGING_DEBS := cmake pkg-config g++ binutils
GUV_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: lib-release install uninstall demo deps-packaging test-packaging test-native-libs

lib-release:
	$(GUV_RELEASE_BUILD)

install: lib-release
	install -d $(GUV_DEST)/$(LIBDIR)/pkgconfig $(GUV_DEST)/$(LIBDIR)/cmake/guv $(GUV_DEST)/$(INCLUDEDIR)
	install -m 644 $(GUV_RELEASE)/libguv.a $(GUV_DEST)/$(LIBDIR)/libguv.a
	install -m 755 $(GUV_RELEASE)/libguv.so $(GUV_DEST)/$(LIBDIR)/$(GUV_REALNAME)
	ln -sfn $(GUV_REALNAME) $(GUV_DEST)/$(LIBDIR)/$(GUV_SONAME)
	ln -sfn $(GUV_SONAME) $(GUV_DEST)/$(LIBDIR)/libguv.so
	install -m 644 $(ROOT)/include/guv.h $(GUV_DEST)/$(INCLUDEDIR)/guv.h
	$(foreach h,$(GUV_SUPPORT_HEADERS),install -D -m 644 $(ROOT)/include/$(h) $(GUV_DEST)/$(INCLUDEDIR)/$(h) && ) true
	$(if $(GUV_HPP),install -m 644 $(GUV_HPP) $(GUV_DEST)/$(INCLUDEDIR)/guv.hpp)
	@echo "writing guv.pc, guvConfig.cmake, guvConfigVersion.cmake from their templates"
	@$(GUV_SUBST) $(ROOT)/guv.pc.in > $(GUV_DEST)/$(LIBDIR)/pkgconfig/guv.pc
	@$(GUV_SUBST) $(ROOT)/cmake/guvConfig.cmake.in > $(GUV_DEST)/$(LIBDIR)/cmake/guv/guvConfig.cmake
	@$(GUV_SUBST) $(ROOT)/cmake/guvConfigVersion.cmake.in > $(GUV_DEST)/$(LIBDIR)/cmake/guv/guvConfigVersion.cmake
	chmod 644 $(GUV_DEST)/$(LIBDIR)/pkgconfig/guv.pc $(GUV_DEST)/$(LIBDIR)/cmake/guv/*.cmake

# Shared directories (lib, lib/pkgconfig, lib/cmake, include) stay, as with
# automake; guv's own directories go once empty.
uninstall:
	rm -f $(addprefix $(GUV_DEST)/,$(GUV_INSTALLED))
	[ ! -d $(GUV_DEST)/$(LIBDIR)/cmake/guv ] || rmdir --ignore-fail-on-non-empty $(GUV_DEST)/$(LIBDIR)/cmake/guv
	[ ! -d $(GUV_DEST)/$(INCLUDEDIR)/guv ] || find $(GUV_DEST)/$(INCLUDEDIR)/guv -depth -type d -empty -delete

demo: lib-release
	@mkdir -p $(BUILD)
	$(CC) $(GUV_CFLAGS) -O2 -o $(BUILD)/demo $(ROOT)/examples/demo.c $(GUV_RELEASE)/libguv.a $(GUV_NATIVE_LIBS)
	$(BUILD)/demo

deps-packaging:
	@missing=""; for p in $(GUV_PACKAGING_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "deps-packaging: installing$$missing"; \
		$(GUV_SUDO) apt-get -o DPkg::Lock::Timeout=300 update && \
		$(GUV_SUDO) apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $$missing; \
	fi

# Libs.private must list exactly what rustc says libguv.a needs, in its order
# (rustls-ffi checks the same way).
test-native-libs:
	@out="$$($(GUV_RELEASE_BUILD) 2>&1)" || { echo "$$out"; exit 1; }; \
	libs="$$(echo "$$out" | sed -n 's/^note: native-static-libs: //p')"; \
	if [ "$$libs" != "$(GUV_NATIVE_LIBS)" ]; then \
		echo "guv.pc.in Libs.private:  $(GUV_NATIVE_LIBS)"; \
		echo "rustc native-static-libs: $$libs"; \
		echo "test-native-libs: FAIL: update Libs.private in guv.pc.in"; exit 1; \
	fi; \
	echo "test-native-libs: Libs.private matches rustc: $$libs"

test-packaging: deps-packaging test-native-libs demo
	ROOT=$(ROOT) BUILD=$(abspath $(BUILD))/packaging MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" \
		bash $(ROOT)/tests/packaging/run.sh

TEST_TARGETS += test-packaging
