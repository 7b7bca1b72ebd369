# Aliquot: `make run` runs the main job on the digital twin; `make test` runs every test.
# Missing Debian packages are installed with apt-get first (as root, or through sudo).

SWIFT        ?= swift
BOARD        ?= Boards/sim.toml
DEB_PACKAGES := pkg-config libgpiod-dev libusb-1.0-0-dev libi2c-dev libsqlite3-dev libcurl4-openssl-dev
# The tests also need a PostgreSQL server (the lab server's fleet store; .ci/postgres.sh starts a
# throwaway one) and a headless browser (the dashboard's browser test).
TEST_DEB_PACKAGES := postgresql chromium
# The board binary: static Swift stdlib, stripped, optimized for size, and no larger than 20 MB.
MAX_BOARD_BINARY_BYTES := 20000000
RELEASE_FLAGS := -c release --static-swift-stdlib -Xlinker -s -Xswiftc -Osize

.PHONY: all deps test-deps install-packages build run test bench release size clean deb deb-check gpiod2-check vmtest kernel-check

all: build

## deps: install the Debian packages the build needs, only those missing.
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES) $(TEST_DEB_PACKAGES)"

install-packages:
	@missing=""; \
	for package in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build --product aliquot

CAMPAIGN     ?= campaigns/demo.toml
STATE_DIR    ?= state
RESULTS      ?= results/demo

## run: the main job on the twin: tune both heater loops (once: the gains are kept in $(STATE_DIR)),
## then run the demo campaign: load, heat, inject, sample and measure, predict, cool and clean for
## each experiment, with results in $(RESULTS) (the board file decides twin or hardware).
run: build
	@if [ ! -f $(STATE_DIR)/$$(sed -n 's/^name *= *"\(.*\)"/\1/p' $(BOARD) | head -n 1).tuned.toml ]; then \
	  ALIQUOT_STATE_DIR=$(STATE_DIR) $(SWIFT) run --skip-build aliquot tune --board $(BOARD) --loop reactor --setpoint 270 && \
	  ALIQUOT_STATE_DIR=$(STATE_DIR) $(SWIFT) run --skip-build aliquot tune --board $(BOARD) --loop syringe --setpoint 80; \
	fi
	rm -rf $(RESULTS)
	ALIQUOT_STATE_DIR=$(STATE_DIR) $(SWIFT) run --skip-build aliquot run --board $(BOARD) $(CAMPAIGN) --out $(RESULTS)

## test: every test, then the board binary's size limit.
test: test-deps
	$(SWIFT) build --build-tests
	bash .ci/postgres.sh run -- $(SWIFT) test --skip-build --disable-xctest
	$(MAKE) --no-print-directory size

## release: the board binary, static Swift stdlib, stripped.
release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product aliquot

## size: build the board binary and fail if it is over the limit.
size: release
	@binary="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/aliquot"; \
	bytes=$$(stat -c %s "$$binary"); \
	echo "board binary $$binary: $$bytes bytes (limit $(MAX_BOARD_BINARY_BYTES))"; \
	if ldd "$$binary" | grep -q libswiftCore; then echo "error: the board binary links the Swift runtime dynamically"; exit 1; fi; \
	[ "$$bytes" -le $(MAX_BOARD_BINARY_BYTES) ] || { echo "error: the board binary is over the limit"; exit 1; }

## bench: benchmarks (numbers printed, never asserted). rt-tests brings cyclictest, whose numbers
## are printed beside the control loop's wakeup latency.
bench: deps
	@dpkg-query -W -f='$${Status}' rt-tests 2>/dev/null | grep -q "install ok installed" || { \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends rt-tests; }
	$(SWIFT) build -c release --product aliquot-bench
	$(SWIFT) run -c release --skip-build aliquot-bench
	$(SWIFT) build -c release --product aliquot-lab
	bash .ci/postgres.sh run -- $(SWIFT) run -c release --skip-build aliquot-lab bench

clean:
	rm -rf .build

## deb: the Debian package for this machine's architecture (see deploy/README.md); dtc compiles
## the HAT's device-tree overlay into it.
DEB_DIR ?= out
deb: release
	@$(MAKE) --no-print-directory install-packages PACKAGES="dpkg device-tree-compiler"
	sh deploy/make-deb.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --product aliquot --show-bin-path)/aliquot" $(DEB_DIR)

## deb-check: the package's contents, the unit verified (systemd-analyze), and an install into a
## debootstrap bookworm chroot (cached in $DEB_CHECK_CACHE, default .build-debcheck) that then runs
## `aliquot --help`. Root.
deb-check: deb
	@$(MAKE) --no-print-directory install-packages PACKAGES="systemd debootstrap"
	@sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo env DEB_CHECK_CACHE="$${DEB_CHECK_CACHE:-}" sh deploy/check-deb.sh $(DEB_DIR)

## gpiod2-check: the GPIO shim built and its tests run against libgpiod 2.x, compiled from PyPI's
## gpiod sdist into .build-gpiod2 (the system's libgpiod is 1.6).
gpiod2-check: deps
	@python3 -m pip --version >/dev/null 2>&1 || $(MAKE) --no-print-directory install-packages PACKAGES="python3-pip"
	bash .ci/libgpiod2-check.sh

## kernel-check: every variant of the int8 chain kernel against the scalar one, bit for bit, on
## this CPU and (from x86-64) on aarch64 NEON under qemu-user (Tests/KernelCrossCheck).
KERNEL_CHECK_PACKAGES := qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross
kernel-check:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(KERNEL_CHECK_PACKAGES)"
	bash Tests/KernelCrossCheck/run.sh

## vmtest: the unmodified board binary against real Linux drivers in a qemu VM (vm/README.md):
## Debian's 6.1 kernel with i2c-stub, dummy_hcd USB gadgets (FunctionFS spectrometers, an emulated
## CP2112 bridge for GPIO and I2C, CDC-ACM pump ports) served by aliquot-kernel-twin; a normal run
## and a spectrometer unplug run, each judged by vm/check.sh.
VM_PACKAGES := qemu-system-x86 busybox-static cpio udev
vmtest: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(VM_PACKAGES)"
	$(SWIFT) build $(RELEASE_FLAGS) --product aliquot
	$(SWIFT) build $(RELEASE_FLAGS) --product aliquot-kernel-twin
	bash vm/vmtest.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"
