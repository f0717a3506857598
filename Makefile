# ldapotp — make demo: see it work; make test: every test, as CI runs them.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
FUZZTIME ?= 10000x

.PHONY: all build deps test unit fuzz fuzz-short bench demo clean

all: build

build:
	$(GO) build -o bin/ldapotp ./cmd/ldapotp

# deps installs what the tests and the demo need from Debian's packages when
# it is missing (as root), and says what to install otherwise.
deps:
	@missing=""; \
	for c in slapd slapadd slaptest ldapwhoami ldapsearch; do \
	  command -v $$c >/dev/null 2>&1 || [ -x /usr/sbin/$$c ] || missing="$$missing $$c"; done; \
	[ -e /usr/lib/ldap/otp.so ] || missing="$$missing otp.so"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing slapd slapd-contrib ldap-utils (missing:$$missing)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq slapd slapd-contrib ldap-utils >/dev/null; \
	  else \
	    echo "missing:$$missing — run: sudo apt-get install -y slapd slapd-contrib ldap-utils" >&2; exit 1; \
	  fi; \
	fi

# test: vet, then every test with the race detector (the slapd integration
# suites included: they fail loudly under CI=true if slapd is missing), then
# each fuzz target for a short, bounded time.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory fuzz-short

unit:
	$(GO) test -race -count=1 ./oath/ ./schema/ ./otpme/... ./proxy/ ./cmd/...

# fuzz-short/fuzz run every Fuzz target: FUZZTIME each (10,000 inputs in
# make test: a count, not a duration, so a loaded machine cannot make the
# fuzzer miss its deadline; 5 minutes each in make fuzz). A duration can
# end in Go 1.26's coordinator race (golang/go#75804): "context deadline
# exceeded" at the end, with no failing input written. That is reported
# and not counted as a failure; a failing input always is.
fuzz-short:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    out=$$($(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1) && continue; \
	    if ! grep -q 'Failing input written' <<<"$$out" && \
	       [ "$$(grep -c -- '--- FAIL' <<<"$$out")" = 1 ] && \
	       grep -A1 -- '--- FAIL' <<<"$$out" | grep -q 'context deadline exceeded'; then \
	      echo "  ended by the fuzzing coordinator's deadline race (golang/go#75804), no failing input"; continue; fi; \
	    echo "$$out"; exit 1; \
	  done; done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m

# bench also measures two proxies that only forward bytes, as the ceiling a
# pass-through ratio can reach here: test/relay, and HAProxy, installed as
# root when missing (the bench runs without it otherwise and says so).
bench: deps
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing haproxy (a reference proxy for the bench)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null || \
	      echo "haproxy could not be installed: its reference runs are skipped" >&2; \
	  else echo "haproxy is not installed (sudo apt-get install -y haproxy): its reference runs are skipped" >&2; fi
	$(GO) test -run='^$$' -bench=. -benchmem ./oath/ ./schema/ ./otpme/ ./proxy/
	$(GO) test -tags bench -run='^TestBench$$' -count=1 -timeout 40m -v ./test/load/

# demo: a throwaway slapd with demo data, the proxy in front of it, and a
# real two-factor bind shown working; serves until Ctrl-C, then cleans up.
demo: deps build
	./examples/demo/demo.sh

clean:
	rm -rf bin
