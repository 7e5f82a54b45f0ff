package hal_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"

	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/haltest"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		tree, want string
	}{
		{"qemu.tree", hal.ProfileQEMU},
		{"ahci-em.tree", hal.ProfileGenericAHCI},
		{"rpi5.tree", hal.ProfileRPiSATAHat},
		{"platform-ahci.tree", hal.ProfileGenericAHCI},
		{"bare.tree", ""},
	}
	for _, tt := range tests {
		t.Run(tt.tree, func(t *testing.T) {
			root := haltest.Sysfs(t, filepath.Join("testdata", tt.tree))
			got, err := hal.Detect(root)
			if tt.want == "" {
				if !errors.Is(err, hal.ErrUnknownBoard) {
					t.Fatalf("Detect = %q, %v, want ErrUnknownBoard", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Detect = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestQEMUProfile opens the detected profile on the QEMU tree and checks
// that a fail pattern lights the keyboard LED's brightness file, and that
// other LEDs are not touched.
func TestQEMUProfile(t *testing.T) {
	root := haltest.Sysfs(t, "testdata/qemu.tree")
	b, err := hal.Open("", &hal.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != hal.ProfileQEMU || len(b.Bays()) != 6 {
		t.Fatalf("Open = %s with %d bays, want qemu with 6", b.Name(), len(b.Bays()))
	}
	bay, err := b.BayByPort("0000:00:02.0/ata2")
	if err != nil || bay.Number() != 2 {
		t.Fatalf("BayByPort(ata2) = %v, %v, want bay 2", bay, err)
	}
	leds := filepath.Join(root, "devices/platform/i8042/serio0/input/input2")
	if err := bay.SetPattern(hal.Fail); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(leds, "input2::numlock/brightness")); got != "1" {
		t.Errorf("numlock brightness after fail = %q, want 1 (max_brightness)", got)
	}
	if got := readFile(t, filepath.Join(leds, "input2::capslock/brightness")); got != "0" {
		t.Errorf("capslock brightness = %q, want 0", got)
	}
	st := b.State()
	if st.Bays[1].Pattern != hal.Fail || st.Bays[1].Fault == nil || !bool(st.Bays[1].Fault.Level) {
		t.Errorf("State bay 2 = %+v, want fail with its fault LED on", st.Bays[1])
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(leds, "input2::numlock/brightness")); got != "0" {
		t.Errorf("numlock brightness after Halt = %q, want 0", got)
	}
	// Bay 4 has no LED: patterns are accepted and remembered.
	b4, _ := b.Bay(4)
	if err := b4.SetPattern(hal.Locate); err != nil || b4.Pattern() != hal.Locate {
		t.Errorf("bay 4 SetPattern(locate) = %v, Pattern() = %v", err, b4.Pattern())
	}
}

// TestEnclosureMessages checks that generic-ahci over enclosure management
// writes ledmon's message values for normal, locate, fail and rebuild.
func TestEnclosureMessages(t *testing.T) {
	root := haltest.Sysfs(t, "testdata/ahci-em.tree")
	b, err := hal.Open(hal.ProfileGenericAHCI, &hal.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ports []string
	for _, bay := range b.Bays() {
		ports = append(ports, bay.Port())
	}
	want := "[0000:00:17.0/ata1 0000:00:17.0/ata2 0000:00:17.0/ata3 0000:00:17.0/ata4 0000:03:00.0/ata9 0000:03:00.0/ata10]"
	if fmt.Sprint(ports) != want {
		t.Fatalf("bays' ports = %v, want %s", ports, want)
	}
	em := filepath.Join(root, "devices/pci0000:00/0000:00:17.0/ata3/host2/scsi_host/host2/em_message")
	bay3, _ := b.Bay(3)
	for _, tt := range []struct {
		p    hal.Pattern
		want string
	}{
		{hal.Locate, "524288"},
		{hal.Fail, "4194304"},
		{hal.Rebuild, "4718592"},
		{hal.Normal, "0"},
	} {
		if err := bay3.SetPattern(tt.p); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, em); got != tt.want {
			t.Errorf("em_message after %v = %s, want %s", tt.p, got, tt.want)
		}
	}
	// Bays 5 and 6 have no enclosure management and no LEDs.
	bay5, _ := b.Bay(5)
	if l := bay5.LEDs(); l.Fault != nil || l.Locate != nil {
		t.Errorf("bay 5 LEDs = %+v, want none", l)
	}
}

// TestRPiProfile opens the Raspberry Pi profile with periph's gpiotest pins
// in place of the kernel's lines.
func TestRPiProfile(t *testing.T) {
	pins := map[string]*gpiotest.Pin{}
	lookup := func(chip, line string) (gpio.PinIO, error) {
		if chip != "" {
			return nil, fmt.Errorf("unexpected chip %q", chip)
		}
		p := &gpiotest.Pin{N: line, Num: len(pins)}
		pins[line] = p
		return p, nil
	}
	root := haltest.Sysfs(t, "testdata/rpi5.tree")
	b, err := hal.Open("", &hal.Options{Root: root, Lines: lookup, Solid: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != hal.ProfileRPiSATAHat {
		t.Fatalf("detected %s, want rpi-sata-hat", b.Name())
	}
	bay2, _ := b.Bay(2)
	if err := bay2.SetPattern(hal.Locate); err != nil {
		t.Fatal(err)
	}
	if pins["GPIO16"].L != gpio.High || pins["GPIO6"].L != gpio.Low {
		t.Errorf("bay 2 locate (solid): locate GPIO16 = %v, fault GPIO6 = %v, want High, Low", pins["GPIO16"].L, pins["GPIO6"].L)
	}
	// Presence switches are active low with pull-ups.
	pins["GPIO22"].L = gpio.Low
	pins["GPIO23"].L = gpio.High
	if p, known := bay2.Present(); !known || !p {
		t.Errorf("bay 2 Present = %v, %v, want true, true", p, known)
	}
	bay3, _ := b.Bay(3)
	if p, known := bay3.Present(); !known || p {
		t.Errorf("bay 3 Present = %v, %v, want false, true", p, known)
	}
	if pins["GPIO17"].P != gpio.PullUp {
		t.Errorf("presence pull = %v, want PullUp", pins["GPIO17"].P)
	}
	if err := b.SetStatus(hal.StatusAttention); err != nil || pins["GPIO26"].L != gpio.High {
		t.Errorf("SetStatus(attention) solid = %v, status LED %v, want High", err, pins["GPIO26"].L)
	}
}

func TestSimulatedProfile(t *testing.T) {
	b, log, _ := haltest.SimBoard(t)
	if len(b.Bays()) != 6 || b.SimLog() != log {
		t.Fatalf("simulated board: %d bays, log %p, want 6 bays and log %p", len(b.Bays()), b.SimLog(), log)
	}
	bay, _ := b.Bay(4)
	temp, err := bay.Temperature()
	if err != nil || temp != physic.ZeroCelsius+34*physic.Celsius {
		t.Errorf("bay 4 Temperature = %v, %v, want 34°C", temp, err)
	}
	if p, known := bay.Present(); !p || !known {
		t.Errorf("bay 4 Present = %v, %v, want true, true", p, known)
	}
	log.Pin("bay4.present").Set(gpio.Low)
	if p, _ := bay.Present(); p {
		t.Error("bay 4 present after its switch opened")
	}
	if log.Len() != 0 {
		t.Errorf("opening the board wrote %v, want nothing", log.Events())
	}
	if err := bay.SetPattern(hal.Fail); err != nil {
		t.Fatal(err)
	}
	if lv := log.Levels(); !lv["bay4.fault"] || lv["bay3.fault"] {
		t.Errorf("levels after bay 4 fail = %v", lv)
	}
}

func TestOpenErrors(t *testing.T) {
	root := haltest.Sysfs(t, "testdata/bare.tree")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"ledclass":"nosuch"}}]}`), 0o644)
	tests := []struct {
		board, want string
	}{
		{"", "cannot tell which board"},
		{"nosuch", "unknown board"},
		{filepath.Join(dir, "missing.json"), "no such file"},
		{bad, `no LED "nosuch"`},
		{hal.ProfileGenericAHCI, "no AHCI ports"},
		{hal.ProfileQEMU, `no LED "input*::capslock"`},
	}
	for _, tt := range tests {
		t.Run(tt.board, func(t *testing.T) {
			b, err := hal.Open(tt.board, &hal.Options{Root: root})
			if err == nil {
				b.Close()
				t.Fatalf("Open(%q) succeeded, want error containing %q", tt.board, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%q) = %v, want error containing %q", tt.board, err, tt.want)
			}
		})
	}
}
