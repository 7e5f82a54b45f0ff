// Package ledclass drives Linux LED class devices, the entries of
// /sys/class/leds, as periph.io gpio pins.
//
// On the real sysfs root ("/sys") it uses periph.io's own sysfs LED driver
// (periph.io/x/host/v3/sysfs), which finds LEDs only through periph's
// driver registry, at a fixed /sys path: Open initialises the registry once
// and looks the LED up there. Under any other root (a fake tree in tests, a
// chroot) it uses this package's LED, which does what periph's driver does
// (write the brightness file: 0 for off, the LED's max_brightness for on)
// but under that root. So the root is the seam between kernel and tests.
//
// An LED is named as in /sys/class/leds, or by a pattern in path.Match
// syntax: the kernel numbers input devices in probe order, so QEMU's PS/2
// keyboard LEDs are best named "input*::capslock". When several LEDs match,
// the first in lexical order is taken.
//
// Kernels with LED triggers may have a trigger driving the LED (keyboard
// LEDs default to kbd-* triggers); writing a brightness of 0 removes a
// trigger, so the first Out takes the LED over. The gokrazy kernel has no
// triggers.
package ledclass

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
	"periph.io/x/host/v3/sysfs"
)

// RealRoot is the sysfs root at which Open uses periph's driver.
const RealRoot = "/sys"

// Open returns the LED class device name (or the first matching the pattern
// name) under root/class/leds.
func Open(root, name string) (gpio.PinIO, error) {
	if name == "" {
		return nil, errors.New("ledclass: empty LED name")
	}
	if _, err := path.Match(name, ""); err != nil {
		return nil, fmt.Errorf("ledclass: LED name %q: %w", name, err)
	}
	if filepath.Clean(root) == RealRoot {
		return openPeriph(name)
	}
	return openFile(root, name)
}

// match returns the first of names (sorted) that matches pattern.
func match(names []string, pattern string) (string, bool) {
	sort.Strings(names)
	for _, n := range names {
		if ok, _ := path.Match(pattern, n); ok {
			return n, true
		}
	}
	return "", false
}

var initPeriph = sync.OnceValue(func() error {
	_, err := driverreg.Init()
	return err
})

func openPeriph(name string) (gpio.PinIO, error) {
	if err := initPeriph(); err != nil {
		return nil, fmt.Errorf("ledclass: periph drivers: %w", err)
	}
	names := make([]string, 0, len(sysfs.LEDs))
	for _, l := range sysfs.LEDs {
		names = append(names, l.Name())
	}
	n, ok := match(names, name)
	if !ok {
		return nil, fmt.Errorf("ledclass: no LED %q among %d in %s/class/leds", name, len(names), RealRoot)
	}
	l, err := sysfs.LEDByName(n)
	if err != nil {
		return nil, fmt.Errorf("ledclass: %s: %w", n, err)
	}
	return l, nil
}

func openFile(root, name string) (*LED, error) {
	dir := filepath.Join(root, "class", "leds")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ledclass: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	n, ok := match(names, name)
	if !ok {
		return nil, fmt.Errorf("ledclass: no LED %q among %d in %s", name, len(names), dir)
	}
	l := &LED{name: n, dir: filepath.Join(dir, n), max: "1"}
	if _, err := os.Stat(filepath.Join(l.dir, "brightness")); err != nil {
		return nil, fmt.Errorf("ledclass: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(l.dir, "max_brightness")); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 0 {
			l.max = strconv.Itoa(v)
		}
	}
	return l, nil
}

// LED is an LED class device under a sysfs root other than /sys.
type LED struct {
	name, dir string
	max       string // brightness written for High

	mu sync.Mutex // serialises writes to brightness
}

var (
	_ gpio.PinIO  = (*LED)(nil)
	_ pin.PinFunc = (*LED)(nil)
)

// String implements conn.Resource.
func (l *LED) String() string { return "led:" + l.name }

// Halt implements conn.Resource: the LED is turned off.
func (l *LED) Halt() error { return l.Out(gpio.Low) }

// Name implements pin.Pin.
func (l *LED) Name() string { return l.name }

// Number implements pin.Pin; LEDs have no number.
func (l *LED) Number() int { return -1 }

// Function implements pin.Pin.
func (l *LED) Function() string { return string(l.Func()) }

// Func implements pin.PinFunc.
func (l *LED) Func() pin.Func {
	if l.Read() {
		return "LED/On"
	}
	return "LED/Off"
}

// SupportedFuncs implements pin.PinFunc.
func (l *LED) SupportedFuncs() []pin.Func { return []pin.Func{"LED"} }

// SetFunc implements pin.PinFunc.
func (l *LED) SetFunc(pin.Func) error { return errors.New("ledclass: SetFunc not supported") }

// In implements gpio.PinIn: an LED can be read back but has no pull or edges.
func (l *LED) In(pull gpio.Pull, edge gpio.Edge) error {
	if pull != gpio.Float && pull != gpio.PullNoChange || edge != gpio.NoEdge {
		return errors.New("ledclass: an LED has no pull or edge detection")
	}
	return nil
}

// Read implements gpio.PinIn: High when the brightness is not 0.
func (l *LED) Read() gpio.Level {
	b, err := os.ReadFile(filepath.Join(l.dir, "brightness"))
	if err != nil {
		return gpio.Low
	}
	s := strings.TrimSpace(string(b))
	return gpio.Level(s != "" && s != "0")
}

// WaitForEdge implements gpio.PinIn; LEDs have no edges.
func (l *LED) WaitForEdge(time.Duration) bool { return false }

// Pull implements gpio.PinIn.
func (l *LED) Pull() gpio.Pull { return gpio.PullNoChange }

// DefaultPull implements gpio.PinIn.
func (l *LED) DefaultPull() gpio.Pull { return gpio.PullNoChange }

// Out implements gpio.PinOut.
func (l *LED) Out(level gpio.Level) error {
	v := "0"
	if level {
		v = l.max
	}
	return l.write(v)
}

// PWM implements gpio.PinOut as a brightness in proportion to duty.
func (l *LED) PWM(duty gpio.Duty, _ physic.Frequency) error {
	if !duty.Valid() {
		return fmt.Errorf("ledclass: %s: invalid duty %v", l.name, duty)
	}
	max, _ := strconv.ParseInt(l.max, 10, 64)
	return l.write(strconv.FormatInt((int64(duty)*max+int64(gpio.DutyMax)/2)/int64(gpio.DutyMax), 10))
}

func (l *LED) write(v string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	// O_TRUNC is ignored by sysfs and replaces the value in a plain file.
	f, err := os.OpenFile(filepath.Join(l.dir, "brightness"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("ledclass: %w", err)
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ledclass: %s: %w", l.name, err)
	}
	return nil
}
