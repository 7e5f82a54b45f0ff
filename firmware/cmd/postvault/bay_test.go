package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/haltest"
)

func runBay(t *testing.T, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(stdio{strings.NewReader(""), &o, &e}, append([]string{"bay"}, args...))
	return code, o.String(), e.String()
}

// qemuTree builds hal's fake QEMU sysfs tree with a disk sdb on ata2.
func qemuTree(t *testing.T) string {
	t.Helper()
	root := haltest.Sysfs(t, filepath.Join("..", "..", "..", "hal", "testdata", "qemu.tree"))
	dev := filepath.Join(root, "devices/pci0000:00/0000:00:02.0/ata2/host1/target1:0:0/1:0:0:0/block/sdb")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "block"), 0o755)
	if err := os.Symlink("../devices/pci0000:00/0000:00:02.0/ata2/host1/target1:0:0/1:0:0:0/block/sdb", filepath.Join(root, "block/sdb")); err != nil {
		t.Fatal(err)
	}
	return root
}

func brightness(t *testing.T, root, led string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "devices/platform/i8042/serio0/input/input2", led, "brightness"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestBayQEMU drives the keyboard LEDs of a fake QEMU tree through the
// detected qemu profile, naming the bay by number, port and disk.
func TestBayQEMU(t *testing.T) {
	root := qemuTree(t)
	tests := []struct {
		args []string
		led  string
		want string
	}{
		{[]string{"fail", "1", "--sysfs", root}, "input2::capslock", "1"},
		{[]string{"--sysfs", root, "locate", "0000:00:02.0/ata3"}, "input2::scrolllock", "1"}, // solid
		{[]string{"fail", "/dev/sdb", "--sysfs", root, "--board", "qemu"}, "input2::numlock", "1"},
		{[]string{"normal", "sdb", "--sysfs", root}, "input2::numlock", "0"},
		{[]string{"normal", "1", "--sysfs", root}, "input2::capslock", "0"},
	}
	for _, tt := range tests {
		code, out, errOut := runBay(t, tt.args...)
		if code != 0 {
			t.Fatalf("bay %v: exit %d, %s", tt.args, code, errOut)
		}
		if got := brightness(t, root, tt.led); got != tt.want {
			t.Errorf("bay %v: %s brightness = %s, want %s\n%s", tt.args, tt.led, got, tt.want, out)
		}
	}
	// Bay 3 was left locating (steady) by the second command.
	if got := brightness(t, root, "input2::scrolllock"); got != "1" {
		t.Errorf("scrolllock = %s after other bays changed, want 1", got)
	}
}

// TestBayHold blinks a simulated bay for a while and reads the writes back
// from the JSON output.
func TestBayHold(t *testing.T) {
	code, out, errOut := runBay(t, "locate", "2", "--board", "simulated", "--for", "600ms", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r bayReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if r.Board != "simulated" || r.Bay.Number != 2 || r.Bay.Pattern != hal.Normal || r.Solid {
		t.Errorf("report = %+v, want simulated bay 2 back to normal, not solid", r)
	}
	locate := 0
	for _, w := range r.Writes {
		if strings.Contains(w, "bay2.locate") {
			locate++
		}
	}
	// 600 ms of 4 Hz: about 5 edges, and the final off.
	if locate < 4 {
		t.Errorf("bay 2's locate LED was written %d times in 600 ms of 4 Hz blinking, want at least 4: %v", locate, r.Writes)
	}
}

func TestBayUsage(t *testing.T) {
	root := qemuTree(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: postvault bay"},
		{[]string{"locate"}, 2, "usage"},
		{[]string{"disco", "1"}, 2, "unknown indicator pattern"},
		{[]string{"locate", "1", "2"}, 2, "usage"},
		{[]string{"locate", "1", "--for", "-1s"}, 2, "usage"},
		{[]string{"locate", "9", "--sysfs", root}, 1, "no such bay"},
		{[]string{"locate", "sdz", "--sysfs", root}, 1, "disk sdz"},
		{[]string{"locate", "1", "--board", "nosuch", "--sysfs", root}, 1, "unknown board"},
	}
	for _, tt := range tests {
		code, _, errOut := runBay(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("bay %v: exit %d, %q; want exit %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}
