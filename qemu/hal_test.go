package qemu

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGuestKernelLED runs hal's TestKernelLEDInQEMU inside a VM with two
// data disks: the qemu board profile drives the PS/2 keyboard's capslock LED
// through periph's sysfs LED driver, and every data disk's port is a bay of
// the profile.
func TestGuestKernelLED(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	disks := []Disk{
		{Path: filepath.Join(dir, "a.img"), Size: 16 << 20, Serial: "PVTEST-A"},
		{Path: filepath.Join(dir, "b.img"), Size: 16 << 20, Serial: "PVTEST-B"},
	}
	res, err := GoTest(context.Background(), "github.com/postvault/postvault/hal",
		[]string{"-test.run=^TestKernelLEDInQEMU$"}, &Guest{Disks: disks, Timeout: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit != 0 || !strings.Contains(res.Output, "--- PASS: TestKernelLEDInQEMU") {
		t.Errorf("in-guest test: exit %d, output:\n%s", res.Exit, res.Output)
	}
	t.Logf("in-guest output:\n%s", res.Output)
}
