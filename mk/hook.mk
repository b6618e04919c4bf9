# libguv_hook.so (hook/): libc's blocking calls interposed, so unmodified code cooperates.
## make test-hook          libpq, hiredis, MariaDB, libcurl, fd/sleep/poll; plain programs under LD_PRELOAD
## make test-hook-install  the installed copy (`make install` has it): pkg-config, CMake, LD_PRELOAD
HOOK_SRCS    := $(sort $(wildcard $(ROOT)/hook/*.c))
HOOK_SO      := $(OUT)/libguv_hook.so
HOOK_RELEASE := $(OUT)/release/libguv_hook.so
HOOK_TESTS   := $(basename $(notdir $(wildcard $(ROOT)/tests/hook/test_*.c)))
# $(call cc_hook,LIBGUV DIRECTORY,OPTIMISATION,RPATH): links the hook against that libguv.so.
cc_hook = mkdir -p $(@D) && $(CC) -I$(ROOT)/include -Wall -Wextra -Werror -g -fPIC -fvisibility=default $(2) -o $@ \
	$(HOOK_SRCS) -shared -Wl,-soname,libguv_hook.so.0 -Wl,-z,defs -L$(1) -lguv -ldl -Wl,-rpath,$(3)
$(HOOK_SO): $(HOOK_SRCS) $(ROOT)/hook/hook.h $(TEST_HDRS) $(GUV_SO)
	$(call cc_hook,$(dir $(GUV_SO)),-O1,$(dir $(GUV_SO)))
	ln -sfn libguv_hook.so $(OUT)/libguv_hook.so.0
$(HOOK_RELEASE): $(HOOK_SRCS) $(ROOT)/hook/hook.h $(TEST_HDRS) $(GUV_RELEASE)/libguv.so
	$(call cc_hook,$(GUV_RELEASE),-O2,'$$ORIGIN')
# Tests link the hook ahead of libc, as users do, and not --as-needed: no test calls it by name.
HOOK_TEST_LIBS := -Wl,--push-state,--no-as-needed -L$(OUT) -lguv_hook -Wl,--pop-state -Wl,-rpath,$(OUT) $(GUV_SO_LINK)
$(OUT)/hook/test_%: $(ROOT)/tests/hook/test_%.c $(TEST_HDRS) $(HOOK_SO) | deps-drivers
	$(call cc_prog,$(HOOK_TEST_LIBS))
$(OUT)/hook/test_curl: PKG := libcurl
test-hook: $(addprefix $(OUT)/hook/,$(HOOK_TESTS) passthru)
	$(call run_tests,$(OUT)/hook,$(HOOK_TESTS))
	$(call run_tests,$(ROOT)/tests/hook,passthru.sh,HOOK_SO=$(HOOK_SO) PASSTHRU=$(OUT)/hook/passthru,bash)
test-hook-install: | deps-drivers deps-packaging
	ROOT=$(ROOT) WORK=$(OUT)/hook-install CC="$(CC)" bash $(ROOT)/tests/hook/install.sh
