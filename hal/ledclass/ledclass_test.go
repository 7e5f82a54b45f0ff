package ledclass_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"

	"github.com/postvault/postvault/hal/haltest"
	"github.com/postvault/postvault/hal/ledclass"
)

const caps = "devices/platform/i8042/serio0/input/input2/input2::capslock/brightness"

func brightness(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, caps))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestLED(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/qemu.tree")
	l, err := ledclass.Open(root, "input*::capslock")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name() != "input2::capslock" {
		t.Errorf("Name() = %q, want input2::capslock", l.Name())
	}
	steps := []struct {
		do   func() error
		want string
		read gpio.Level
	}{
		{func() error { return l.Out(gpio.High) }, "1", gpio.High},
		{func() error { return l.Out(gpio.Low) }, "0", gpio.Low},
		{func() error { return l.PWM(gpio.DutyMax, 0) }, "1", gpio.High},
		{l.Halt, "0", gpio.Low},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := brightness(t, root); got != s.want {
			t.Errorf("step %d: brightness = %q, want %q", i, got, s.want)
		}
		if got := l.Read(); got != s.read {
			t.Errorf("step %d: Read() = %v, want %v", i, got, s.read)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/qemu.tree")
	for _, name := range []string{"", "input*::kana", "[", "input9::capslock"} {
		if l, err := ledclass.Open(root, name); err == nil {
			t.Errorf("Open(%q) = %v, want an error", name, l)
		}
	}
	// A read-only brightness file fails on Out, not silently.
	os.Chmod(filepath.Join(root, caps), 0o444)
	l, err := ledclass.Open(root, "input2::capslock")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := l.Out(gpio.High); err == nil {
			t.Error("Out on a read-only brightness file succeeded")
		}
	}
}
