package hal_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/hal"
)

// TestKernelLEDInQEMU drives a real kernel LED through the qemu profile and
// periph's sysfs LED driver. It runs only inside the QEMU guest (DMI vendor
// QEMU, a PS/2 keyboard LED in /sys/class/leds) and skips elsewhere; the
// QEMU harness runs this package's test binary in the guest.
func TestKernelLEDInQEMU(t *testing.T) {
	vendor, _ := os.ReadFile("/sys/class/dmi/id/sys_vendor")
	leds, _ := filepath.Glob("/sys/class/leds/input*::capslock")
	if strings.TrimSpace(string(vendor)) != "QEMU" || len(leds) == 0 {
		t.Skip("not inside the QEMU guest (no QEMU DMI vendor or no keyboard LED)")
	}
	b, err := hal.Open("", &hal.Options{Solid: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != hal.ProfileQEMU {
		t.Fatalf("detected %s, want qemu", b.Name())
	}
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
