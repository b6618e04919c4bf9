# install/uninstall (libraries with sonames, headers, .pc files, the CMake package), and their tests.
## make test-packaging     install, pkg-config (shared, --static), a moved CMake install, uninstall
LIBDIR     ?= lib
INCLUDEDIR ?= include
$(if $(filter /%,$(LIBDIR) $(INCLUDEDIR)),$(error LIBDIR and INCLUDEDIR are relative to PREFIX))
GUV_REALNAME := libguv.so.$(GUV_VERSION)
GUV_DEST      = $(DESTDIR)$(PREFIX)
GUV_HEADERS  := $(patsubst $(ROOT)/include/%,%,$(sort $(shell find $(ROOT)/include -type f)))
# Everything install puts under the prefix; uninstall removes this list.
GUV_INSTALLED = $(addprefix $(LIBDIR)/,libguv.a $(GUV_REALNAME) $(GUV_SONAME) libguv.so libguv_hook.so.$(GUV_VERSION) \
	libguv_hook.so.0 libguv_hook.so pkgconfig/guv.pc pkgconfig/guv-hook.pc cmake/guv/guvConfig.cmake \
	cmake/guv/guvConfigVersion.cmake cmake/guv/guvHookTargets.cmake) $(addprefix $(INCLUDEDIR)/,$(GUV_HEADERS) guv.hpp)
# guvConfig.cmake finds the prefix relative to itself ($(LIBDIR)/cmake/guv), so an install can move.
GUV_CMAKE_TO_PREFIX := $(shell echo $(LIBDIR)/cmake/guv | sed 's|[^/][^/]*|..|g')
# Libs.private as CMake link items; pthread comes through Threads::Threads.
GUV_CMAKE_STATIC_DEPS := $(shell echo $(patsubst -l%,%,$(patsubst -lpthread,Threads::Threads,$(GUV_NATIVE_LIBS))) | tr ' ' ';')
# Writes a template (guv.pc.in, cmake/*.in) with this install's values.
GUV_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@VERSION@|$(GUV_VERSION)|g' -e 's|@VERSION_MAJOR@|$(word 1,$(subst ., ,$(GUV_VERSION)))|g' \
	-e 's|@VERSION_MINOR@|$(word 2,$(subst ., ,$(GUV_VERSION)))|g' -e 's|@SONAME@|$(GUV_SONAME)|g' \
	-e 's|@REALNAME@|$(GUV_REALNAME)|g' -e 's|@CMAKE_TO_PREFIX@|$(GUV_CMAKE_TO_PREFIX)|g' \
	-e 's|@STATIC_DEPS@|$(GUV_CMAKE_STATIC_DEPS)|g' -e 's|@SIZEOF_VOID_P@|$(if $(filter 64,$(shell getconf LONG_BIT)),8,4)|g'
install: $(GUV_RELEASE)/libguv.a $(GUV_RELEASE)/libguv.so $(HOOK_RELEASE)
	install -d $(GUV_DEST)/$(LIBDIR)/pkgconfig $(GUV_DEST)/$(LIBDIR)/cmake/guv $(GUV_DEST)/$(INCLUDEDIR)
	install -m 644 $(GUV_RELEASE)/libguv.a $(GUV_DEST)/$(LIBDIR)/libguv.a
	install -m 755 $(GUV_RELEASE)/libguv.so $(GUV_DEST)/$(LIBDIR)/$(GUV_REALNAME)
	install -m 755 $(HOOK_RELEASE) $(GUV_DEST)/$(LIBDIR)/libguv_hook.so.$(GUV_VERSION)
	cd $(GUV_DEST)/$(LIBDIR) && ln -sfn $(GUV_REALNAME) $(GUV_SONAME) && ln -sfn $(GUV_SONAME) libguv.so && \
	  ln -sfn libguv_hook.so.$(GUV_VERSION) libguv_hook.so.0 && ln -sfn libguv_hook.so.0 libguv_hook.so
	$(foreach h,$(GUV_HEADERS),install -D -m 644 $(ROOT)/include/$(h) $(GUV_DEST)/$(INCLUDEDIR)/$(h) && ) true
	install -m 644 $(ROOT)/bindings/cpp/guv.hpp $(GUV_DEST)/$(INCLUDEDIR)/guv.hpp
	$(foreach t,guv.pc.in guv-hook.pc.in,$(GUV_SUBST) $(ROOT)/$(t) > $(GUV_DEST)/$(LIBDIR)/pkgconfig/$(t:.in=) && ) true
	$(foreach t,guvConfig guvConfigVersion guvHookTargets,$(GUV_SUBST) $(ROOT)/cmake/$(t).cmake.in \
	  > $(GUV_DEST)/$(LIBDIR)/cmake/guv/$(t).cmake && ) true
	chmod 644 $(addprefix $(GUV_DEST)/$(LIBDIR)/pkgconfig/,guv.pc guv-hook.pc) $(GUV_DEST)/$(LIBDIR)/cmake/guv/*.cmake
# Shared directories (lib, lib/pkgconfig, include, ...) stay; guv's own go once empty.
uninstall:
	rm -f $(addprefix $(GUV_DEST)/,$(GUV_INSTALLED))
	[ ! -d $(GUV_DEST)/$(LIBDIR)/cmake/guv ] || rmdir --ignore-fail-on-non-empty $(GUV_DEST)/$(LIBDIR)/cmake/guv
	[ ! -d $(GUV_DEST)/$(INCLUDEDIR)/guv ] || find $(GUV_DEST)/$(INCLUDEDIR)/guv -depth -type d -empty -delete
# A scratch install for the suites that use guv as users do (C++, Go).
$(OUT)/prefix/.installed: $(GUV_RELEASE)/libguv.a $(HOOK_RELEASE) $(TEST_HDRS) $(ROOT)/bindings/cpp/guv.hpp \
		$(wildcard $(ROOT)/*.pc.in $(ROOT)/cmake/*.in)
	$(MAKE) --no-print-directory install PREFIX=$(OUT)/prefix DESTDIR=
	touch $@
demo: $(OUT)/release/examples/demo
	$<
deps-packaging:
	$(call deps,cmake pkg-config g++ binutils)
# Libs.private must list what rustc says libguv.a needs, in its order (cargo replays the note).
test-native-libs:
	@out="$$($(GUV_RELEASE_BUILD) 2>&1)" || { echo "$$out"; exit 1; }; \
	libs="$$(echo "$$out" | sed -n 's/^note: native-static-libs: //p')"; [ "$$libs" = "$(GUV_NATIVE_LIBS)" ] \
	  || { echo "$@: FAILED: guv.pc.in's Libs.private is '$(GUV_NATIVE_LIBS)', rustc says '$$libs'"; exit 1; }; \
	echo "$@: Libs.private matches rustc: $$libs"
test-packaging: test-native-libs demo | deps-packaging
	ROOT=$(ROOT) WORK=$(OUT)/packaging CC="$(CC)" CXX="$(CXX)" bash $(ROOT)/tests/packaging/run.sh
