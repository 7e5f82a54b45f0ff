# postvault: `make run` starts the appliance in development mode, `make test`
# runs every test. Missing system tools are installed with apt-get when we are
# root (see `deps`); otherwise the tests that need them say so and skip.

GO       ?= go
BUILD    := build
DATA     ?= data
BIN      := $(BUILD)/postvault
GOFLAGS_TEST ?= -race -shuffle=on -timeout 40m

# Debian packages the tests and tools use, as "command:package".
DEB_TOOLS := mdadm:mdadm qemu-system-x86_64:qemu-system-x86 \
	mksquashfs:squashfs-tools mcopy:mtools mkfs.vfat:dosfstools mkfs.ext4:e2fsprogs \
	swaks:swaks curl:curl python3:python3 sgdisk:gdisk
DEB_FILES := /usr/sbin/dovecot:dovecot-imapd /usr/share/perl5/IO/Socket/SSL.pm:libio-socket-ssl-perl /usr/share/OVMF/OVMF_CODE.fd:ovmf /usr/lib/systemd/boot/efi/systemd-bootx64.efi:systemd-boot-efi

.PHONY: all build run test test-short vet deps fuzz bench image qemu clean

all: build

build:
	$(GO) build -o $(BIN) ./firmware/cmd/postvault

# Development mode: five file-backed members under $(DATA), RAID-6 on first
# start, every service on a loopback high port (printed at start).
run: build
	$(BIN) serve --dev $(DATA)

deps:
	@mkdir -p $(BUILD); missing=""; \
	for t in $(DEB_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	for f in $(DEB_FILES); do [ -e $${f%%:*} ] || missing="$$missing $${f#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing (log: $(BUILD)/apt.log)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >$(BUILD)/apt.log 2>&1 || \
				echo "apt-get failed, see $(BUILD)/apt.log"; \
			case "$$missing" in *dovecot-imapd*) \
				command -v systemctl >/dev/null 2>&1 && systemctl disable --now dovecot.service dovecot.socket >>$(BUILD)/apt.log 2>&1; \
				echo "the system Dovecot the package may have started is stopped and disabled (tests run their own on loopback)";; \
			esac; \
		else \
			echo "not root: missing$$missing; tests that need them will skip"; \
		fi; \
	fi

vet:
	$(GO) vet ./...
	GOARCH=386 $(GO) vet ./...
	GOARCH=arm GOARM=7 $(GO) vet ./...

# The whole suite, as CI runs it (.ci/run calls exactly this).
test: deps vet
	$(GO) test $(GOFLAGS_TEST) ./...

test-short:
	$(GO) test -short ./...

# Long fuzzing and exhaustive crash-point runs: not part of `make test`.
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done
	POSTVAULT_EXHAUSTIVE=1 $(GO) test -timeout 3h ./...

# The flashable boot image (docs/image.md): the Go init and postvault,
# cross-built for linux/amd64, packed with the gokrazy kernel into
# $(BUILD)/postvault.img (GPT, FAT boot with systemd-boot, squashfs roots A/B).
IMAGE     := $(BUILD)/postvault.img
IMAGE_BIN := $(BUILD)/image
XGO       := CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -buildvcs=false -ldflags='-s -w -buildid='
image: deps
	@mkdir -p $(IMAGE_BIN)
	$(XGO) -o $(IMAGE_BIN)/init ./firmware/cmd/init
	$(XGO) -o $(IMAGE_BIN)/postvault ./firmware/cmd/postvault
	$(GO) run ./gokrazy/cmd/mkimage -o $(IMAGE) -init $(IMAGE_BIN)/init -program postvault=$(IMAGE_BIN)/postvault

# Boot the image in QEMU (TCG) with five persistent SATA disks under
# $(BUILD)/qemu; host forwards on 127.0.0.1 are printed at start.
qemu: image
	$(GO) run ./qemu/cmd/pvqemu -image $(IMAGE) -disks $(BUILD)/qemu

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BUILD)

# postvault against Dovecot (Debian's, installed with apt-get if missing and
# root) with the same client load in the same run: LMTP deliveries, an IMAP
# mix and a POP3/LMTP mix, printed as the tables of BENCHMARKS.md ("Mail
# delivery vs Dovecot", "IMAP/POP3 vs Dovecot"). A few minutes; -short in
# MAILLOAD_FLAGS is a smoke run.
MAILLOAD_FLAGS ?=
.PHONY: bench-dovecot
bench-dovecot: build
	$(GO) run ./bench/mailload -postvault $(BIN) $(MAILLOAD_FLAGS)
