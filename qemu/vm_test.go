package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	bootedRe  = regexp.MustCompile(`postvault: booted kernel=(\S+) uptime=(\S+)`)
	networkRe = regexp.MustCompile(`postvault: network (\S+) (\S+) via (\S+)`)
)

func TestGuestHello(t *testing.T) {
	needQEMU(t)
	res, err := RunGuest(context.Background(), &Guest{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit != 0 {
		t.Errorf("guest exit = %d, want 0; console:\n%s", res.Exit, res.Console)
	}
	if !strings.Contains(res.Console, "postvault-guest: hello") {
		t.Errorf("console lacks the hello line:\n%s", res.Console)
	}
	t.Logf("power-on to init %s, to power-off %s", res.Ready, res.Elapsed)
}

// TestGuestDisks runs TestInGuestDisks inside a VM with two data disks and
// checks that the guest saw them by serial.
func TestGuestDisks(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	disks := []Disk{
		{Path: filepath.Join(dir, "a.img"), Size: 64 << 20, Serial: "PVTEST-A"},
		{Path: filepath.Join(dir, "b.img"), Size: 32 << 20, Serial: "PVTEST-B"},
	}
	res, err := GoTest(context.Background(), ".", []string{"-test.run=^TestInGuestDisks$"},
		&Guest{Disks: disks, Env: []string{"WANT_DISKS=PVTEST-A:67108864,PVTEST-B:33554432"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit != 0 || !strings.Contains(res.Output, "--- PASS: TestInGuestDisks") {
		t.Errorf("in-guest test: exit %d, output:\n%s", res.Exit, res.Output)
	}
	for _, d := range disks {
		if fi, err := os.Stat(d.Path); err != nil || fi.Size() != d.Size {
			t.Errorf("disk file %s: %v, size %v, want %d", d.Path, err, fi, d.Size)
		}
	}
}

// TestInGuestDisks runs inside the VM of TestGuestDisks: every disk of
// WANT_DISKS (serial:bytes) is a /dev/sd* with that ATA serial and size.
func TestInGuestDisks(t *testing.T) {
	if os.Getenv("POSTVAULT_QEMU_GUEST") != "1" {
		t.Skip("runs inside a QEMU guest (TestGuestDisks)")
	}
	found := map[string]int64{}
	devs, _ := filepath.Glob("/sys/block/sd*")
	for _, d := range devs {
		pg80, err := os.ReadFile(filepath.Join(d, "device", "vpd_pg80"))
		if err != nil || len(pg80) < 4 {
			t.Logf("%s: vpd_pg80: %v", d, err)
			continue
		}
		serial := string(bytes.TrimSpace(pg80[4:]))
		var sectors int64
		b, _ := os.ReadFile(filepath.Join(d, "size"))
		fmt.Sscan(string(b), &sectors)
		found[serial] = sectors * 512
		t.Logf("%s: serial %q, %d bytes", filepath.Base(d), serial, sectors*512)
	}
	for _, w := range strings.Split(os.Getenv("WANT_DISKS"), ",") {
		serial, size, _ := strings.Cut(w, ":")
		if got, ok := found[serial]; !ok || fmt.Sprint(got) != size {
			t.Errorf("disk %s: found %v (%d bytes), want %s bytes", serial, ok, got, size)
		}
	}
}

func TestImageBootDirectKernel(t *testing.T) {
	img := testImage(t)
	vm, err := New(&Options{Image: img, Disks: []Disk{{Path: filepath.Join(t.TempDir(), "d0.img")}},
		Forwards: MailForwards()})
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	defer vm.Stop()
	dumpOnFailure(t, vm)
	m, err := vm.WaitFor(bootedRe, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("booted: kernel %s after %s of guest uptime, %s of wall time", m[1], m[2], time.Since(vm.Started()))
	n, err := vm.WaitFor(networkRe, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n[2] != "10.0.2.15/24" || n[3] != "10.0.2.2" {
		t.Errorf("network = %q, want 10.0.2.15/24 via 10.0.2.2 (QEMU's DHCP)", n[0])
	}
	for _, f := range vm.Forwards() {
		if f.Host == 0 || vm.Addr(f.Name) == "" {
			t.Errorf("forward %+v has no host port", f)
		}
	}
	// The power button: gokrazy stops the services and powers off.
	if err := vm.Shutdown(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vm.Serial(), "Powering off") {
		t.Errorf("no clean power-off on the console after Shutdown")
	}
}

func TestImageBootUEFI(t *testing.T) {
	img := testImage(t)
	vm, err := New(&Options{Mode: UEFI, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	defer vm.Stop()
	dumpOnFailure(t, vm)
	if _, err := vm.WaitFor(bootedRe, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vm.Serial(), "root=PARTUUID=") {
		t.Errorf("kernel command line from systemd-boot's loader entry not seen on the console")
	}
	t.Logf("UEFI boot to the booted marker: %s", time.Since(vm.Started()))
}
