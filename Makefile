# CloudCrowd-C build. Plain GNU make; objects and dependency files live under
# build/<variant>/ so sanitizer and normal objects never mix.
#   make            build everything (build/release/bin/)
#   make test       install what is missing, build, run every test (normal
#                   build, then again under ASan/UBSan)
#   make asan       ASan/UBSan build, then every test under it
#   make demo       private stack under var/demo with one node, a real job
#   make stop       stop the demo stack
#   make bench      benchmarks (not part of make test)
#   make lint       banned-function and SQL checks (sources and tests),
#                   shellcheck

VARIANT ?= release
B       := build/$(VARIANT)
PKGS    := jansson libcurl libmicrohttpd inih libmariadb
CC      ?= cc
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wformat=2 -Wshadow \
               -Wstrict-prototypes -g \
               -D_GNU_SOURCE -Ilib -DCC_SOURCE_DIR='"$(CURDIR)"'
ifeq ($(VARIANT),asan)
  CFLAGS_VAR := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
  LDFLAGS_VAR := -fsanitize=address,undefined
else
  CFLAGS_VAR := -O2
  LDFLAGS_VAR :=
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfcgi -lcrypto -lpthread -lm
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_VAR) $(PKG_CFLAGS) $(CFLAGS_EXTRA)
LDFLAGS := $(LDFLAGS_VAR) $(LDFLAGS_EXTRA)

LIB_SRCS := $(wildcard lib/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIBCROWD := $(B)/libcrowd.a

# Executables: name -> sources (each links libcrowd).
SERVER_SRCS  := $(wildcard fcgi/*.c)
NODE_SRCS    := $(wildcard nodeagent/*.c)
DIST_SRCS    := $(wildcard ccdistribute/*.c)
CLI_SRCS     := $(wildcard cli/*.c)
TOOL_SRCS    := $(wildcard nodeagent/tools/*.c)
BINS := $(B)/bin/crowd-server $(B)/bin/crowd-node $(B)/bin/ccdistribute
ifneq ($(CLI_SRCS),)
BINS += $(B)/bin/crowd
endif
BINS += $(TOOL_SRCS:nodeagent/tools/%.c=$(B)/bin/%)
# Test actions written in C (fast trivial actions for tests and benchmarks).
ACTION_SRCS := $(wildcard actions/*/*.c)
ACTION_BINS := $(patsubst %.c,$(B)/%,$(ACTION_SRCS))

TEST_TOOL_SRCS := $(wildcard tests/tools/*.c)
TEST_TOOLS := $(TEST_TOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps test unit asan demo stop bench lint clean check-env
all: $(BINS) $(ACTION_BINS) $(UNIT_BINS) $(TEST_TOOLS)

deps:
	@stack/deps.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBCROWD): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/bin/crowd-server: $(SERVER_SRCS:%.c=$(B)/%.o) $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/bin/crowd-node: $(NODE_SRCS:%.c=$(B)/%.o) $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/bin/ccdistribute: $(DIST_SRCS:%.c=$(B)/%.o) $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/bin/crowd: $(CLI_SRCS:%.c=$(B)/%.o) $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(B)/bin/%: $(B)/nodeagent/tools/%.o $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(ACTION_BINS): $(B)/actions/%: actions/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<
$(B)/tests/tools/%: $(B)/tests/tools/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
# Unit tests: each links the support files (tests/unit/support/: the
# MariaDB fixture...) and the central server's objects but its main(), so
# handlers can be called directly; both through one archive, so a test
# pulls in only what it uses.
TEST_SUPPORT_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard tests/unit/support/*.c))
FCGI_LIB_OBJS := $(patsubst %.c,$(B)/%.o,$(filter-out fcgi/main.c,$(SERVER_SRCS)))
TEST_SUPPORT_LIB := $(B)/libtestsupport.a
$(B)/tests/unit/%.o: CFLAGS += -Itests/unit/support -Ifcgi
$(TEST_SUPPORT_LIB): $(TEST_SUPPORT_OBJS) $(FCGI_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(B)/tests/%: $(B)/tests/unit/%.o $(TEST_SUPPORT_LIB) $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

# The full suite, twice: with the normal build and with the ASan/UBSan
# build (unit tests, then integration tests against private stacks).
test: deps
	@$(MAKE) --no-print-directory VARIANT=release all
	@$(MAKE) --no-print-directory VARIANT=asan all
	@tests/run-variants.sh release asan

unit: all
	@VARIANT=$(VARIANT) tests/run.sh --unit-only

asan: deps
	@$(MAKE) --no-print-directory VARIANT=asan all
	@VARIANT=asan tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@stack/demo.sh

stop:
	@stack/stop.sh var/demo

bench: deps
	@$(MAKE) --no-print-directory all
	@VARIANT=$(VARIANT) tests/bench/run.sh

# Fuzz targets as tests: each tests/fuzz/fuzz_X.c linked with the
# standalone driver tests/fuzz/driver.c (no libFuzzer: the seed corpus
# tests/fuzz/corpus/fuzz_X/ and 300 deterministic mutations of each input)
# into $(B)/tests/test_fuzz_X, which tests/run.sh runs with the unit tests.
# The libFuzzer builds: tests/fuzz/README.md.
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(B)/tests/test_fuzz_%)
all: $(FUZZ_BINS)
$(FUZZ_BINS): $(B)/tests/test_fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/driver.o $(LIBCROWD)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# SQL text only in db.c; no system()/popen() anywhere; no sprintf/strcpy;
# the tests' C files included. Shell scripts (tests/, stack/) pass
# shellcheck at severity warning.
LINT_C  = $(wildcard lib/*/*.c fcgi/*.c nodeagent/*.c nodeagent/tools/*.c \
            ccdistribute/*.c cli/*.c) $(shell find tests -name '*.c')
LINT_SH = $(shell find tests -name '*.sh') $(wildcard stack/*.sh)
lint:
	@! grep -nE 'mysql_(real_)?query\(' $(filter-out lib/core/db.c,$(LINT_C)) || \
	  { echo "lint: mysql_query outside lib/core/db.c"; exit 1; }
	@! grep -nE '\b(sprintf|strcpy|strcat|gets|system|popen)\(' $(LINT_C) || \
	  { echo "lint: banned function"; exit 1; }
	@command -v shellcheck >/dev/null || { echo "lint: no shellcheck (make deps)"; exit 1; }
	@shellcheck -S warning $(LINT_SH) || { echo "lint: shellcheck"; exit 1; }
	@echo "lint: ok"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
