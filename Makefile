# vlsink: plain Makefile.  `make`, `make check`, `make run`, `make bench`,
# `make install`, `make lint`, `make fuzz`; SANITIZE=address,undefined builds
# an instrumented copy under build/san.
VERSION   = 0.1.0
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

SRCS      = $(wildcard src/*.c)
OBJS      = $(SRCS:src/%.c=$(BUILD)/%.o)
BIN       = $(BUILD)/vlsink

# Debian packages the build and the tests need; `make deps` installs what is
# missing (as root) or prints the apt-get line.
DEB_BUILD = libsystemd-dev pkg-config
DEB_TEST  = bats bats-assert bats-support socat jq systemd-container gpsd-clients \
            iproute2 psmisc time

.PHONY: all deps deps-test check test run bench install uninstall clean lint fuzz

all: $(BIN)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)/.dir
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SD_CFLAGS) -c -o $@ $<

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/gen-nmea: tests/bench/gen-nmea.c | $(BUILD)/.dir
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/.dir:
	mkdir -p $(BUILD)
	touch $@

deps:
	@scripts/deps.sh $(DEB_BUILD)

deps-test:
	@scripts/deps.sh $(DEB_BUILD) $(DEB_TEST)

check: deps-test
	$(MAKE) WERROR=1 all $(BUILD)/gen-nmea
	VLSINK=$(abspath $(BIN)) bats --print-output-on-failure tests
	$(MAKE) WERROR=1 SANITIZE=address,undefined all
	VLSINK=$(abspath build/san/vlsink) VLSINK_SANITIZED=1 bats --print-output-on-failure tests

test: all
	VLSINK=$(abspath $(BIN)) bats tests

run: deps
	$(MAKE) all
	scripts/run-demo.sh $(abspath $(BIN))

bench: deps-test
	$(MAKE) all $(BUILD)/gen-nmea
	VLSINK=$(abspath $(BIN)) GEN=$(abspath $(BUILD)/gen-nmea) tests/bench/bench.sh

install: all
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/vlsink
	install -D -m 0644 man/vlsink.1 $(DESTDIR)$(MANDIR)/man1/vlsink.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vlsink $(DESTDIR)$(MANDIR)/man1/vlsink.1

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	    --suppress=missingIncludeSystem src/

clean:
	rm -rf build
