# hedgesync: GNU make, no configure step.
#
#   make            build build/hedgesync
#   make check      install missing Debian packages, build, run every test
#   make asan       the same tests against an ASan+UBSan build
#   make demo       start the stack on loopback and walk through it
#   make bench      measure against the named peers (docs/BENCHMARKS.md)
#   make fuzz       run the libFuzzer targets (FUZZ_SECONDS each)
#   make soak       the crash and fault proofs, long (1000 and 600 events)
#   make valgrind   the end-to-end tests with hedgesync under valgrind
#   make install    PREFIX=/usr/local DESTDIR=
#
# V=1 shows the full commands.  Put local overrides in config.mak.

-include config.mak

PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libcurl jansson yaml-0.1 libjwt sqlite3 openssl
FUZZ_SECONDS ?= 60

CFLAGS ?= -O2 -g
DEVELOPER_CFLAGS = -Wall -Wextra -Werror -Wformat=2 -Wformat-security \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
	-Wpointer-arith -Wvla -Wundef -Wwrite-strings -Wno-missing-field-initializers \
	-fno-common
HS_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

ALL_CFLAGS = -std=gnu11 -pthread -I. $(PKG_CFLAGS) $(DEVELOPER_CFLAGS) \
	-DHS_VERSION='"$(HS_VERSION)"' $(SANITIZE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANITIZE_CFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lfcgi -lm

ifdef SANITIZE
SANITIZE_CFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
endif

ifeq ($(V),1)
Q =
QUIET_CC =
QUIET_LINK =
QUIET_GEN =
else
Q = @
QUIET_CC = @echo '   CC  ' $@;
QUIET_LINK = @echo ' LINK  ' $@;
QUIET_GEN = @echo '  GEN  ' $@;
endif

# Layers, lowest first: github/base (shared helpers) <- github <- sync <- fcgi.
LIB_SRC = $(wildcard github/base/*.c) $(wildcard github/*.c) \
	$(wildcard sync/*.c) $(filter-out fcgi/main.c,$(wildcard fcgi/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/app_yml.o
UNIT_SRC = $(wildcard tests/unit/t-*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_REPLAY = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%-replay)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

all: $(BUILD)/hedgesync

# Keep intermediate objects: no "rm ..." after the test summary.
.SECONDARY:
.PHONY: all check check-run asan demo bench fuzz soak valgrind install clean deps unit e2e FORCE

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Rebuild everything when the flags change (asan vs plain, V, CFLAGS).
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(ALL_CFLAGS)' | cmp -s - $@ || echo '$(ALL_CFLAGS)' > $@
FORCE:

# github/app.yml built into the binary, for the /setup page's manifest.
$(BUILD)/gen/app_yml.c: github/app.yml
	@mkdir -p $(dir $@)
	$(QUIET_GEN){ echo '/* made from github/app.yml by the Makefile */'; \
		echo '#include <stddef.h>'; echo '#include "fcgi/setup.h"'; \
		echo 'const char hs_app_yml[] = {'; \
		od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
		echo '0x00 };'; echo 'const size_t hs_app_yml_len = sizeof(hs_app_yml) - 1;'; } >$@

$(BUILD)/gen/app_yml.o: $(BUILD)/gen/app_yml.c $(BUILD)/.flags
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libhedgesync.a: $(LIB_OBJ)
	$(QUIET_LINK)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/hedgesync: $(BUILD)/fcgi/main.o $(BUILD)/libhedgesync.a
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/t-%: $(BUILD)/tests/unit/t-%.o $(BUILD)/tests/unit/unit.o $(BUILD)/libhedgesync.a
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Test drivers: tests/drivers/NAME.c is a main() linked with the library into
# $(BUILD)/tests/drivers/NAME, which end-to-end tests and benchmarks run
# (ghdrive: github/ against the GitHub emulator).  `make unit` builds them.
DRIVER_SRC = $(wildcard tests/drivers/*.c)
DRIVER_BIN = $(DRIVER_SRC:tests/drivers/%.c=$(BUILD)/tests/drivers/%)
$(BUILD)/tests/drivers/%: $(BUILD)/tests/drivers/%.o $(BUILD)/libhedgesync.a
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/fuzz-%-replay: $(BUILD)/tests/fuzz/fuzz-%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libhedgesync.a
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

deps:
	@scripts/install-deps

unit: $(BUILD)/hedgesync $(UNIT_BIN) $(FUZZ_REPLAY) $(DRIVER_BIN)

# The README's test command.  Installs what is missing, builds, runs all.
check: deps
	@$(MAKE) --no-print-directory check-run

check-run: unit
	@BUILD=$(BUILD) scripts/run-tests

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 CFLAGS='-O1 -g' check-run

# The long reliability proofs: kill -9 at random moments during 1000 mixed
# events, and 600 events against a faulty GitHub.
SOAK_CRASH_EVENTS ?= 1000
SOAK_FAULT_EVENTS ?= 600
soak: deps
	@$(MAKE) --no-print-directory unit
	@HEDGESYNC_CRASH_EVENTS=$(SOAK_CRASH_EVENTS) HEDGESYNC_FAULT_EVENTS=$(SOAK_FAULT_EVENTS) \
		BUILD=$(BUILD) python3 tests/e2e/run.py test_crash test_faults

# The end-to-end tests with hedgesync run by valgrind (memcheck, definite
# leaks are errors): a report fails the test whose stack it was.
valgrind: deps
	@scripts/install-deps valgrind
	@$(MAKE) --no-print-directory unit
	@HS_VALGRIND=1 HEDGESYNC_CRASH_EVENTS=30 HEDGESYNC_FAULT_EVENTS=20 BUILD=$(BUILD) \
		python3 tests/e2e/run.py $(VALGRIND_TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/bench

# libFuzzer needs clang; each target runs FUZZ_SECONDS on its seed corpus.
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang \
		CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all' \
		LDFLAGS='-fsanitize=address,undefined' fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz build/fuzz

fuzz-build: $(BUILD)/libhedgesync.a
	@mkdir -p $(BUILD)/fuzz
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		echo ' LINK  ' $(BUILD)/fuzz/$$n; \
		$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $(BUILD)/fuzz/$$n $$f \
			$(BUILD)/libhedgesync.a $(LIBS) || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hedgesync/nginx \
		$(DESTDIR)$(PREFIX)/share/hedgesync/systemd $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/hedgesync $(DESTDIR)$(PREFIX)/bin/hedgesync
	install -m 0644 nginx/hedgesync.conf $(DESTDIR)$(PREFIX)/share/hedgesync/nginx/
	install -m 0644 scripts/systemd/hedgesync.service $(DESTDIR)$(PREFIX)/share/hedgesync/systemd/
	install -m 0644 docs/hedgesync.1 $(DESTDIR)$(PREFIX)/share/man/man1/hedgesync.1

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
