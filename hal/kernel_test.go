package hal_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postvault/postvault/hal"
)

// TestKernelLEDInQEMU drives a real kernel LED through the qemu profile and
// periph's sysfs LED driver, and checks that every data disk of the VM sits
// in a bay of the profile. It runs inside the QEMU guest (the harness sets
// POSTVAULT_QEMU_GUEST=1; qemu's TestGuestKernelLED runs it) and skips
// elsewhere.
func TestKernelLEDInQEMU(t *testing.T) {
	if os.Getenv("POSTVAULT_QEMU_GUEST") != "1" {
		t.Skip("runs inside a QEMU guest (qemu.TestGuestKernelLED)")
	}
	leds, _ := filepath.Glob("/sys/class/leds/input*::capslock")
	if len(leds) == 0 {
		all, _ := filepath.Glob("/sys/class/leds/*")
		t.Fatalf("no keyboard capslock LED in /sys/class/leds (have %v)", all)
	}
	b, err := hal.Open("", &hal.Options{Solid: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != hal.ProfileQEMU {
		t.Fatalf("detected %s, want qemu", b.Name())
	}
	checkDiskBays(t, b)
	bay, err := b.Bay(1)
	if err != nil {
		t.Fatal(err)
	}
	read := func() string {
		v, err := os.ReadFile(filepath.Join(leds[0], "brightness"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	for _, tt := range []struct {
		p    hal.Pattern
		want string
	}{{hal.Fail, "1"}, {hal.Normal, "0"}, {hal.Locate, "1"}, {hal.Normal, "0"}} {
		if err := bay.SetPattern(tt.p); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != tt.want {
			t.Errorf("after %v: %s brightness = %s, want %s", tt.p, leds[0], got, tt.want)
		}
	}
	t.Logf("drove %s through the qemu profile", leds[0])
}

var portRE = regexp.MustCompile(`/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/(ata[0-9]+)/`)

// checkDiskBays logs every disk's port and requires a bay for each data disk
// (serial not POSTVAULT-BOOT).
func checkDiskBays(t *testing.T, b *hal.Board) {
	devs, _ := filepath.Glob("/sys/block/sd*")
	for _, d := range devs {
		real, err := filepath.EvalSymlinks(d)
		if err != nil {
			t.Fatal(err)
		}
		m := portRE.FindStringSubmatch(real)
		if m == nil {
			t.Errorf("%s: no PCI-ADDRESS/ataN in %s", d, real)
			continue
		}
		port := m[1] + "/" + m[2]
		serial := ""
		if pg80, err := os.ReadFile(filepath.Join(d, "device", "vpd_pg80")); err == nil && len(pg80) > 4 {
			serial = strings.TrimSpace(string(pg80[4:]))
		}
		bay, err := b.BayByPort(port)
		t.Logf("%s: serial %q on port %s: %v", filepath.Base(d), serial, port, bay)
		if err != nil && serial != "POSTVAULT-BOOT" {
			t.Errorf("data disk %s (%s) on port %s has no bay in the qemu profile", filepath.Base(d), serial, port)
		}
	}
}
