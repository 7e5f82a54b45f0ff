// Package haltest holds test helpers for code that uses hal: fake sysfs
// trees built from manifests under testdata, and the simulated board on a
// fake clock.
//
// # Tree manifests
//
// A manifest describes a sysfs tree one entry per line; blank lines and
// lines starting with # are skipped:
//
//	class/dmi/id/sys_vendor = QEMU
//	firmware/devicetree/base/model = "Raspberry Pi 5 Model B Rev 1.0\x00"
//	class/leds/input2::capslock -> ../../devices/platform/i8042/serio0/input/input2/input2::capslock
//	class/scsi_host/
//
// "PATH = VALUE" makes a file holding VALUE and a newline, as sysfs
// attributes read; a double-quoted VALUE is a Go string literal written as
// is. "PATH -> TARGET" makes a symbolic link; "PATH/" an empty directory.
// Manifests keep ':' out of file names in the repository, which Go module
// zips do not allow, while the trees built from them have sysfs's names.
package haltest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/sim"
)

// Epoch is the fake clock's start time in SimBoard.
var Epoch = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// Sysfs builds the tree the manifest file describes in a temporary
// directory and returns its root.
func Sysfs(t testing.TB, manifest string) string {
	t.Helper()
	root := t.TempDir()
	if err := Build(root, manifest); err != nil {
		t.Fatal(err)
	}
	return root
}

// Build builds the tree the manifest file describes under root.
func Build(root, manifest string) error {
	f, err := os.Open(manifest)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if err := entry(root, strings.TrimSpace(sc.Text())); err != nil {
			return fmt.Errorf("%s:%d: %w", manifest, n, err)
		}
	}
	return sc.Err()
}

func entry(root, line string) error {
	if line == "" || line[0] == '#' {
		return nil
	}
	if p, target, ok := strings.Cut(line, " -> "); ok {
		full, err := inside(root, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.Symlink(strings.TrimSpace(target), full)
	}
	if p, v, ok := strings.Cut(line, " ="); ok {
		full, err := inside(root, p)
		if err != nil {
			return err
		}
		v = strings.TrimSpace(v)
		data := v + "\n"
		if strings.HasPrefix(v, `"`) {
			if data, err = strconv.Unquote(v); err != nil {
				return fmt.Errorf("value %s: %w", v, err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		return os.WriteFile(full, []byte(data), 0o644)
	}
	if strings.HasSuffix(line, "/") {
		full, err := inside(root, line)
		if err != nil {
			return err
		}
		return os.MkdirAll(full, 0o755)
	}
	return fmt.Errorf("cannot read %q: want PATH = VALUE, PATH -> TARGET or PATH/", line)
}

func inside(root, p string) (string, error) {
	c := filepath.Clean(strings.TrimSpace(p))
	if filepath.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the tree", p)
	}
	return filepath.Join(root, c), nil
}

// SimBoard opens the simulated profile on a fake clock started at Epoch and
// closes it when the test ends.
func SimBoard(t testing.TB) (*hal.Board, *sim.Log, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(Epoch)
	log := sim.NewLog(clock)
	b, err := hal.Open(hal.ProfileSimulated, &hal.Options{Clock: clock, SimLog: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, log, clock
}
