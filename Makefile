# vlsink: plain Makefile.  `make`, `make check`, `make run`, `make bench`,
# `make install`, `make lint`, `make fuzz`; SANITIZE=address,undefined builds
# an instrumented copy under build/san.  `make deb` builds the Debian package.
# The version is written in one place, debian/changelog's latest entry: its
# upstream part (no epoch, no Debian revision) is what `vlsink --version` says.
VERSION  := $(shell sed -n '1{s/^[^(]*(\([^)]*\)).*/\1/;s/^[0-9]*://;s/-[^-]*$$//;p;q;}' debian/changelog 2>/dev/null)
ifeq ($(VERSION),)
$(error no version: debian/changelog is missing or does not start with "vlsink (VERSION)")
endif
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
DESTDIR  ?=

CC       ?= cc
WARN      = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wcast-qual -Wwrite-strings -Wformat=2 -Werror=implicit-function-declaration
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -fno-common -fstack-protector-strong \
            -D_FORTIFY_SOURCE=2 -DVERSION='"$(VERSION)"'
# As the package is built (hardening=+all): the GOT read-only once the
# program has started, every symbol bound then, not on first use.
LDFLAGS  += -Wl,-z,relro -Wl,-z,now
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    ?= build/san
else
BUILD    ?= build/std
endif
SD_CFLAGS := $(shell pkg-config --cflags libsystemd 2>/dev/null)
SD_LIBS   := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
LDLIBS   += $(SD_LIBS) -lm

# Three programs, one folder each, on the core they share (src/README).
CORE_SRCS    = $(wildcard src/core/*.c)
VLSINK_SRCS  = $(wildcard src/vlsink/*.c src/vlsink/*/*.c)
COLLECT_SRCS = $(wildcard src/collect/*.c)
EXPORT_SRCS  = $(wildcard src/export/*.c)
obj = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJS    = $(call obj,$(CORE_SRCS))
OBJS         = $(call obj,$(VLSINK_SRCS)) $(CORE_OBJS)
COLLECT_OBJS = $(call obj,$(COLLECT_SRCS)) $(CORE_OBJS)
EXPORT_OBJS  = $(call obj,$(EXPORT_SRCS)) $(CORE_OBJS)
BIN       = $(BUILD)/vlsink
COLLECT   = $(BUILD)/vlsink-collect
EXPORT    = $(BUILD)/vlsink-export
UNITS     = vlsink.socket vlsink@.service vlsink-collect.socket vlsink-collect.service
# A socket and a template per line of units/protocols (scripts/gen-units.sh).
PROTOCOL_NAMES = $(shell sed -n 's/^\([a-z0-9][a-z0-9]*\)[[:space:]].*/\1/p' units/protocols)
PROTOCOL_UNITS = $(foreach p,$(PROTOCOL_NAMES),vlsink-$(p).socket vlsink-$(p)@.service)
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# Listening sockets on vlsink.socket's port (scripts/gen-units.sh --shards):
# 1 is vlsink.socket alone; N adds vlsink-s2.socket ... vlsink-sN.socket and
# symlinks in SYSCONFDIR/systemd/system that give them vlsink@.service's and
# vlsink.socket's drop-ins.
SHARDS   ?= 1
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/libexec
DOCDIR   ?= $(PREFIX)/share/doc/vlsink

# Debian packages the build and the tests need; `make deps` installs what is
# missing (as root) or prints the apt-get line.
DEB_BUILD = libsystemd-dev pkg-config
DEB_TEST  = bats bats-assert bats-support socat jq systemd-container gpsd-clients \
            iproute2 psmisc time cppcheck clang clang-tidy libclang-rt-14-dev valgrind \
            man-db systemd-journal-remote libxml2-utils python3 \
            postgresql-15 postgresql-client-15 openbsd-inetd ucspi-tcp openssl curl \
            debootstrap $(DEB_PACKAGE) $(DEB_BALANCER_LIBS)
# What `make deb` needs (dpkg-buildpackage, debhelper's dh, lintian), beyond
# DEB_BUILD; tests/deb.bats builds the package too.
DEB_PACKAGE = debhelper dpkg-dev build-essential lintian
# The shared libraries of the haproxy and nginx binaries that deps-balancers
# unpacks (the packages themselves are not installed: see there).
DEB_BALANCER_LIBS = liblua5.3-0 libopentracing-c-wrapper0 libpcre2-8-0 libssl3 zlib1g

.PHONY: hooks all deps deps-test deps-trixie check-trixie deb deps-deb deps-fuzz deps-xinetd deps-gpsd deps-balancers bench-systemd confine-table soak check check-harness test run bench install uninstall clean lint fuzz

REPLAY    = $(BUILD)/vlsink-replay

all: $(BIN) $(COLLECT) $(EXPORT) $(REPLAY)

$(BUILD)/obj/%.o: src/%.c src/*/*.h src/*/*/*.h | $(BUILD)/.dir
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc $(SD_CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) -lm

$(COLLECT): $(COLLECT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(COLLECT_OBJS) -lm

$(EXPORT): $(EXPORT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(EXPORT_OBJS) $(LDLIBS)

$(REPLAY): examples/replay/vlsink-replay.c | $(BUILD)/.dir
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/gen-nmea: tests/bench/gen-nmea.c | $(BUILD)/.dir
	$(CC) $(CFLAGS) -o $@ $<

# The confinement probe (tests/confine.bats, confine-table): an LD_PRELOAD
# shim, never installed.
$(BUILD)/vlsink-probe.so: tests/shim/probe.c | $(BUILD)/.dir
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $< -ldl

# A test build with the worker's crash triggers (VLSINK_CRASH_ON and
# VLSINK_CRASH_ON_FIX, see
# src/vlsink/worker.c): build/hooks/vlsink, or build/san-hooks/vlsink with
# SANITIZE.  Never installed: the installed binary has no such trigger.
HOOKS_BUILD = $(if $(SANITIZE),build/san-hooks,build/hooks)
hooks:
	$(MAKE) BUILD=$(HOOKS_BUILD) CPPFLAGS="$(CPPFLAGS) -DVLSINK_TEST_HOOKS" $(HOOKS_BUILD)/vlsink

$(BUILD)/.dir:
	mkdir -p $(BUILD)
	touch $@

deps:
	@scripts/deps.sh $(DEB_BUILD)

deps-test:
	@scripts/deps.sh $(DEB_BUILD) $(DEB_TEST)
	@$(MAKE) -s deps-xinetd deps-gpsd deps-balancers deps-trixie

# The Debian 13 (trixie, systemd 257) root the container suites boot with
# CT_RELEASE=trixie: debootstrap from the archive apt already uses, kept in
# /var/cache/vlsink-tests (scripts/ct-root.sh; minutes once per machine).
# An unreachable archive is not an error here: the trixie suites then skip,
# saying so.
deps-trixie:
	@scripts/deps.sh debootstrap
	@scripts/ct-root.sh --check trixie >/dev/null || echo "deps: building the trixie root (debootstrap, minutes)"
	@out=$$(scripts/ct-root.sh trixie); rc=$$?; \
	    if [ $$rc -eq 2 ]; then echo "deps: $$out; the trixie suites will skip"; else exit $$rc; fi

# xinetd conflicts with openbsd-inetd as a package, so its binary is unpacked
# into build/deps for the examples test instead of being installed.
deps-xinetd:
	@test -x build/deps/xinetd/usr/sbin/xinetd || { \
	    rm -rf build/deps/dl && mkdir -p build/deps/dl && cd build/deps/dl && \
	    apt-get download xinetd >/dev/null && dpkg-deb -x xinetd_*.deb ../xinetd; } || \
	    echo "deps: xinetd not available; its example test will skip"

# gpsd itself, for gpsfake (tests/gpsd.bats): installing the package would
# enable a gpsd.socket on the machine, and the test containers would inherit
# it, so its binary is unpacked into build/deps instead.
deps-gpsd:
	@test -x build/deps/gpsd/usr/sbin/gpsd || { \
	    rm -rf build/deps/dl-gpsd && mkdir -p build/deps/dl-gpsd && cd build/deps/dl-gpsd && \
	    apt-get download gpsd >/dev/null && dpkg-deb -x gpsd_*.deb ../gpsd; } || \
	    echo "deps: gpsd not available; tests/gpsd.bats will skip"

# HAProxy, and nginx with its stream module, for tests/balancer.bats:
# installing the packages would start and enable haproxy.service and
# nginx.service on the machine, and the test containers would inherit them,
# so their files are unpacked into build/deps instead; their shared
# libraries are in DEB_TEST.
deps-balancers:
	@test -x build/deps/haproxy/usr/sbin/haproxy || { \
	    rm -rf build/deps/dl-haproxy && mkdir -p build/deps/dl-haproxy && cd build/deps/dl-haproxy && \
	    apt-get download haproxy >/dev/null && dpkg-deb -x haproxy_*.deb ../haproxy; } || \
	    echo "deps: haproxy not available; tests/balancer.bats will fail"
	@test -f build/deps/nginx/usr/lib/nginx/modules/ngx_stream_module.so || { \
	    rm -rf build/deps/dl-nginx && mkdir -p build/deps/dl-nginx && cd build/deps/dl-nginx && \
	    apt-get download nginx libnginx-mod-stream >/dev/null && \
	    for f in *.deb; do dpkg-deb -x $$f ../nginx || exit 1; done; } || \
	    echo "deps: nginx not available; tests/balancer.bats will fail"
	@! ldd build/deps/haproxy/usr/sbin/haproxy build/deps/nginx/usr/sbin/nginx 2>/dev/null | grep 'not found' || \
	    echo "deps: the balancers' libraries are missing (make deps-test installs DEB_BALANCER_LIBS)"

# tests/deb.bats builds its packages once into build/deb-test, for this
# run's two passes.
check: deps-test
	$(MAKE) lint
	$(MAKE) WERROR=1 all $(BUILD)/gen-nmea
	rm -rf build/deb-test
	VLSINK=$(abspath $(BIN)) VLSINK_DEB_DIR=$(abspath build/deb-test) bats --print-output-on-failure tests
	VLSINK_DEB_DIR=$(abspath build/deb-test) $(MAKE) check-trixie
	$(MAKE) WERROR=1 SANITIZE=address,undefined all
	VLSINK=$(abspath build/san/vlsink) VLSINK_COLLECT=$(abspath build/san/vlsink-collect) \
	    VLSINK_EXPORT=$(abspath build/san/vlsink-export) VLSINK_SANITIZED=1 \
	    bats --print-output-on-failure $(SAN_SUITES)

# The sanitizer pass runs every suite that runs the build under test; the
# fuzzing smoke run builds and instruments its own harnesses, so a second
# run would only repeat the first.
SAN_SUITES = $(filter-out tests/fuzz.bats,$(wildcard tests/*.bats))

# The suites that run vlsink under a real systemd, a second time on a
# Debian 13 root (systemd 257; tests/lib/container.bash, CT_RELEASE): the
# package, the units and the fleet storm, the FIFO and the collector, the
# journal sink, the confinement probe. Normal build only; test names start
# with [trixie].
TRIXIE_SUITES = tests/deb.bats tests/systemd.bats tests/journal.bats tests/confine.bats
check-trixie: deps-trixie
	$(MAKE) WERROR=1 all
	CT_RELEASE=trixie BATS_TEST_NAME_PREFIX='[trixie] ' VLSINK=$(abspath $(BIN)) \
	    bats --print-output-on-failure $(TRIXIE_SUITES)

test: all
	VLSINK=$(abspath $(BIN)) bats tests

# The test harness itself and systemd limits the README documents: not vlsink,
# not part of make check.
check-harness: deps-test
	$(MAKE) WERROR=1 all
	VLSINK=$(abspath $(BIN)) bats --print-output-on-failure tests/harness

run: deps
	$(MAKE) all
	scripts/run-demo.sh $(abspath $(BIN))

$(BUILD)/jbench: tests/bench/jbench.c | $(BUILD)/.dir
	$(CC) $(CFLAGS) $(SD_CFLAGS) -o $@ $< $(SD_LIBS)

# The fleet client of bench-systemd part 2: 10,000 connections from one process.
$(BUILD)/fleet: tests/bench/fleet.c | $(BUILD)/.dir
	$(CC) $(CFLAGS) -o $@ $<

# Under a real systemd in a throwaway container (root); figures, not tests.
bench-systemd: deps-test
	$(MAKE) all $(BUILD)/gen-nmea $(BUILD)/jbench $(BUILD)/fleet
	JBENCH=$(abspath $(BUILD)/jbench) GEN=$(abspath $(BUILD)/gen-nmea) FLEET=$(abspath $(BUILD)/fleet) \
	    tests/bench/systemd-bench.sh
	$(MAKE) -s confine-table

# What one connection may do under the 2026-11-30 vlsink@.service and under
# the installed one, as a markdown table (tests/bench/confine-table.sh).
confine-table: deps-test
	$(MAKE) all $(BUILD)/vlsink-probe.so
	PROBE_SO=$(abspath $(BUILD)/vlsink-probe.so) tests/bench/confine-table.sh --run

# SOAK_SECONDS per run (default 600): a journal run, then a FIFO run.
soak: deps-test
	$(MAKE) all
	tests/bench/soak.sh

# BASELINE_REV=REV also builds that revision (git archive into build/baseline)
# and times it beside this build in the same run.
bench: deps-test
	$(MAKE) all $(BUILD)/gen-nmea
	@if [ -n "$(BASELINE_REV)" ]; then \
		rm -rf build/baseline && mkdir -p build/baseline && \
		git archive "$(BASELINE_REV)" | tar -x -C build/baseline && \
		$(MAKE) -s -C build/baseline BUILD=build/std build/std/vlsink >/dev/null || exit 1; \
	fi
	VLSINK=$(abspath $(BIN)) GEN=$(abspath $(BUILD)/gen-nmea) \
	    $(if $(BASELINE_REV),BASELINE=$(abspath build/baseline/build/std/vlsink)) tests/bench/bench.sh

# Units get the installed binary's path. With DESTDIR empty on a machine
# running systemd, the vlsink user is created and units are reloaded.
install: all
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/vlsink
	install -D -m 0755 $(COLLECT) $(DESTDIR)$(BINDIR)/vlsink-collect
	install -D -m 0755 $(EXPORT) $(DESTDIR)$(BINDIR)/vlsink-export
	install -D -m 0644 man/vlsink.1 $(DESTDIR)$(MANDIR)/man1/vlsink.1
	install -D -m 0644 man/vlsink-collect.1 $(DESTDIR)$(MANDIR)/man1/vlsink-collect.1
	install -D -m 0644 man/vlsink-export.1 $(DESTDIR)$(MANDIR)/man1/vlsink-export.1
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' units/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	grep -v '^#' units/protocols | while read -r name port fd; do \
		scripts/gen-units.sh --bindir=$(BINDIR) $(DESTDIR)$(UNITDIR) "$$name" "$$port" "$$fd" || exit 1; \
	done
	for u in $(PROTOCOL_UNITS); do chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	scripts/gen-units.sh --bindir=$(BINDIR) --shards=$(SHARDS) --etc=$(SYSCONFDIR)/systemd/system --destdir=$(DESTDIR) \
		$(DESTDIR)$(UNITDIR)
	install -D -m 0755 scripts/gen-units.sh $(DESTDIR)$(LIBEXECDIR)/vlsink/gen-units
	install -D -m 0644 units/vlsink.sysusers $(DESTDIR)$(SYSUSERSDIR)/vlsink.conf
	for d in vlsink@.service.d/fifo.conf vlsink@.service.d/devices.conf vlsink@.service.d/proxy.conf \
		 vlsink.socket.d/balancer.conf vlsink-collect.service.d/chain.conf; do \
		install -d $(DESTDIR)$(DOCDIR)/units/$$(dirname $$d) && \
		sed 's|@BINDIR@|$(BINDIR)|g' examples/units/$$d > $(DESTDIR)$(DOCDIR)/units/$$d || exit 1; \
	done
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemd-sysusers $(SYSUSERSDIR)/vlsink.conf && systemctl daemon-reload; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vlsink $(DESTDIR)$(BINDIR)/vlsink-collect $(DESTDIR)$(BINDIR)/vlsink-export
	rm -f $(DESTDIR)$(MANDIR)/man1/vlsink.1 $(DESTDIR)$(MANDIR)/man1/vlsink-collect.1 \
	    $(DESTDIR)$(MANDIR)/man1/vlsink-export.1
	scripts/gen-units.sh --shards=1 --etc=$(SYSCONFDIR)/systemd/system --destdir=$(DESTDIR) $(DESTDIR)$(UNITDIR)
	for u in $(UNITS) $(PROTOCOL_UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	rm -f $(DESTDIR)$(LIBEXECDIR)/vlsink/gen-units
	-rmdir $(DESTDIR)$(LIBEXECDIR)/vlsink 2>/dev/null
	rm -f $(DESTDIR)$(SYSUSERSDIR)/vlsink.conf
	rm -rf $(DESTDIR)$(DOCDIR)
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# The Debian package, built from a copy of the tree (scripts/build-deb.sh),
# into build/deb/vlsink_VERSION_ARCH.deb; lintian must find no error and no
# warning (an override, in debian/vlsink.lintian-overrides, says its reason).
deb: deps-deb
	rm -rf build/deb
	scripts/build-deb.sh build/deb
	lintian --fail-on error,warning build/deb/vlsink_*.deb

deps-deb:
	@scripts/deps.sh $(DEB_BUILD) $(DEB_PACKAGE)

# Static analysis; both are clean and CI keeps them so.
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance --std=c11 \
	    --suppress=missingIncludeSystem -D_GNU_SOURCE -DVERSION='"$(VERSION)"' -Isrc src/ examples/replay/
	printf '%s\n' src/*/*.c src/*/*/*.c examples/replay/*.c | xargs -P 2 -n 8 sh -c \
	    'clang-tidy --quiet "$$@" -- -std=c11 -D_GNU_SOURCE -DVERSION='\''"$(VERSION)"'\'' -Isrc $(SD_CFLAGS)' clang-tidy

# libFuzzer harnesses (clang, libclang-rt-14-dev); FUZZ_SECONDS per harness.
FUZZ_SECONDS ?= 60
fuzz: deps-fuzz
	tests/fuzz/run.sh $(FUZZ_SECONDS)

deps-fuzz:
	@scripts/deps.sh clang libclang-rt-14-dev

clean:
	rm -rf build
