package hal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
)

// FileVersion is the board file format version this package reads.
const FileVersion = 1

// maxFileSize bounds a board file; real ones are a few KiB.
const maxFileSize = 1 << 20

// BoardFile is a board described as data: which disk port each bay is wired
// to and which LED, switch and sensor serves it. docs/board-profiles.md
// documents the JSON form; ParseBoardFile reads it.
type BoardFile struct {
	Version int          `json:"version"`
	Name    string       `json:"name"`
	Model   string       `json:"model,omitempty"`
	Status  *LEDSpec     `json:"status,omitempty"`
	Sensors []SensorSpec `json:"sensors,omitempty"`
	Bays    []BaySpec    `json:"bays"`
}

// BaySpec is one bay of a board file.
type BaySpec struct {
	Bay         int         `json:"bay"`
	Port        string      `json:"port"`
	Fault       *LEDSpec    `json:"fault,omitempty"`
	Locate      *LEDSpec    `json:"locate,omitempty"`
	Activity    *LEDSpec    `json:"activity,omitempty"`
	Presence    *SwitchSpec `json:"presence,omitempty"`
	Temperature *TempSpec   `json:"temperature,omitempty"`
}

// LEDSpec names one LED; exactly one field is set.
type LEDSpec struct {
	LEDClass string    `json:"ledclass,omitempty"` // LED class device name or pattern: "input*::capslock"
	GPIO     *GPIOSpec `json:"gpio,omitempty"`
	EM       *EMSpec   `json:"em,omitempty"`
	Sim      string    `json:"sim,omitempty"` // simulated LED name
}

// GPIOSpec names a GPIO line.
type GPIOSpec struct {
	Chip      string `json:"chip,omitempty"` // "gpiochip0", a label such as "pinctrl-rp1", or "" for any chip
	Line      string `json:"line"`           // line name ("GPIO17"), or offset ("17") with a chip
	ActiveLow bool   `json:"active_low,omitempty"`
	Pull      string `json:"pull,omitempty"` // inputs: "", "up", "down" or "float"
}

// EMSpec names a bit of an AHCI enclosure message.
type EMSpec struct {
	LED  string `json:"led"`            // "fault" or "locate"
	Host string `json:"host,omitempty"` // scsi host "hostN"; "" means the bay's port's host
	Slot int    `json:"slot,omitempty"` // port-multiplier slot, 0-15
}

// SwitchSpec names a presence detector; exactly one field is set.
type SwitchSpec struct {
	GPIO *GPIOSpec `json:"gpio,omitempty"`
	Sim  string    `json:"sim,omitempty"` // simulated switch name; starts closed (disk present)
}

// TempSpec names a thermometer; exactly one field is set.
type TempSpec struct {
	File string   `json:"file,omitempty"` // millidegree file relative to the sysfs root
	Sim  *float64 `json:"sim,omitempty"`  // simulated, starting at this many degrees Celsius
}

// SensorSpec is a board thermometer.
type SensorSpec struct {
	Name string `json:"name"`
	TempSpec
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	hostRE = regexp.MustCompile(`^host[0-9]{1,4}$`)
)

// ParseBoardFile reads and validates a board file.
func ParseBoardFile(data []byte) (*BoardFile, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("hal: board file: %d bytes, more than %d", len(data), maxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f BoardFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("hal: board file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("hal: board file: data after the JSON object")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Marshal returns the board file as indented JSON that ParseBoardFile reads.
func (f *BoardFile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Validate checks the file without touching hardware.
func (f *BoardFile) Validate() error {
	if f.Version != FileVersion {
		return fmt.Errorf("hal: board file: version %d, want %d", f.Version, FileVersion)
	}
	if !nameRE.MatchString(f.Name) {
		return fmt.Errorf("hal: board file: name %q: want 1-64 of a-z 0-9 . _ -", f.Name)
	}
	if len(f.Bays) == 0 || len(f.Bays) > 64 {
		return fmt.Errorf("hal: board %s: %d bays, want 1 to 64", f.Name, len(f.Bays))
	}
	if err := f.Status.check(); err != nil {
		return fmt.Errorf("hal: board %s: status LED: %w", f.Name, err)
	}
	seen := map[string]bool{}
	for _, s := range f.Sensors {
		if !nameRE.MatchString(s.Name) || seen[s.Name] {
			return fmt.Errorf("hal: board %s: sensor name %q: missing, malformed or repeated", f.Name, s.Name)
		}
		seen[s.Name] = true
		if err := s.TempSpec.check(); err != nil {
			return fmt.Errorf("hal: board %s: sensor %s: %w", f.Name, s.Name, err)
		}
	}
	numbers := map[int]bool{}
	ports := map[string]bool{}
	leds := map[string]bool{}
	for _, b := range f.Bays {
		if b.Bay < 1 || b.Bay > len(f.Bays) || numbers[b.Bay] {
			return fmt.Errorf("hal: board %s: bay number %d: bays must be numbered 1 to %d, each once", f.Name, b.Bay, len(f.Bays))
		}
		numbers[b.Bay] = true
		if err := CheckPort(b.Port); err != nil {
			return fmt.Errorf("hal: board %s: bay %d: %w", f.Name, b.Bay, err)
		}
		if ports[b.Port] {
			return fmt.Errorf("hal: board %s: bay %d: port %s used twice", f.Name, b.Bay, b.Port)
		}
		ports[b.Port] = true
		if err := b.check(leds); err != nil {
			return fmt.Errorf("hal: board %s: bay %d: %w", f.Name, b.Bay, err)
		}
	}
	if err := f.Status.claim(leds, ""); err != nil {
		return fmt.Errorf("hal: board %s: status LED: %w", f.Name, err)
	}
	return nil
}

func (b *BaySpec) check(leds map[string]bool) error {
	for _, l := range []struct {
		name string
		spec *LEDSpec
	}{{"fault", b.Fault}, {"locate", b.Locate}, {"activity", b.Activity}} {
		if err := l.spec.check(); err != nil {
			return fmt.Errorf("%s LED: %w", l.name, err)
		}
		if l.spec != nil && l.spec.EM != nil {
			if l.name == "activity" {
				return errors.New("activity LED: the kernel drives the enclosure's activity bits")
			}
			if l.spec.EM.LED != l.name {
				return fmt.Errorf("%s LED: enclosure bit %q", l.name, l.spec.EM.LED)
			}
		}
		if err := l.spec.claim(leds, b.Port); err != nil {
			return fmt.Errorf("%s LED: %w", l.name, err)
		}
	}
	if p := b.Presence; p != nil {
		n := 0
		if p.GPIO != nil {
			n++
			if err := p.GPIO.check(true); err != nil {
				return fmt.Errorf("presence: %w", err)
			}
		}
		if p.Sim != "" {
			n++
		}
		if n != 1 {
			return errors.New("presence: want exactly one of gpio, sim")
		}
	}
	if b.Temperature != nil {
		if err := b.Temperature.check(); err != nil {
			return fmt.Errorf("temperature: %w", err)
		}
	}
	return nil
}

func (l *LEDSpec) check() error {
	if l == nil {
		return nil
	}
	n := 0
	if l.LEDClass != "" {
		n++
		if _, err := path.Match(l.LEDClass, ""); err != nil || strings.Contains(l.LEDClass, "/") {
			return fmt.Errorf("ledclass name %q is not a name or pattern", l.LEDClass)
		}
	}
	if l.GPIO != nil {
		n++
		if err := l.GPIO.check(false); err != nil {
			return err
		}
	}
	if l.EM != nil {
		n++
		if l.EM.LED != "fault" && l.EM.LED != "locate" {
			return fmt.Errorf("enclosure LED %q: want fault or locate", l.EM.LED)
		}
		if l.EM.Host != "" && !hostRE.MatchString(l.EM.Host) {
			return fmt.Errorf("enclosure host %q: want hostN", l.EM.Host)
		}
		if l.EM.Slot < 0 || l.EM.Slot > 15 {
			return fmt.Errorf("enclosure slot %d: want 0-15", l.EM.Slot)
		}
	}
	if l.Sim != "" {
		n++
	}
	if n != 1 {
		return errors.New("want exactly one of ledclass, gpio, em, sim")
	}
	return nil
}

// claim records the LED in leds and fails if another LED of the file is the
// same one.
func (l *LEDSpec) claim(leds map[string]bool, port string) error {
	if l == nil {
		return nil
	}
	var k string
	switch {
	case l.LEDClass != "":
		k = "ledclass " + l.LEDClass
	case l.GPIO != nil:
		k = "gpio " + l.GPIO.Chip + "/" + l.GPIO.Line
	case l.EM != nil:
		h := l.EM.Host
		if h == "" {
			h = port
		}
		k = fmt.Sprintf("em %s/%d/%s", h, l.EM.Slot, l.EM.LED)
	default:
		k = "sim " + l.Sim
	}
	if leds[k] {
		return fmt.Errorf("%s is used twice", k)
	}
	leds[k] = true
	return nil
}

func (g *GPIOSpec) check(input bool) error {
	if g.Line == "" || strings.ContainsAny(g.Line, "\x00\n") || len(g.Line) > 64 || len(g.Chip) > 64 {
		return fmt.Errorf("gpio line %q on chip %q: malformed", g.Line, g.Chip)
	}
	switch g.Pull {
	case "":
	case "up", "down", "float":
		if !input {
			return fmt.Errorf("gpio line %s: pull %q on an output", g.Line, g.Pull)
		}
	default:
		return fmt.Errorf("gpio line %s: pull %q: want up, down or float", g.Line, g.Pull)
	}
	return nil
}

func (t *TempSpec) check() error {
	n := 0
	if t.File != "" {
		n++
		c := path.Clean(t.File)
		if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
			return fmt.Errorf("file %q: want a path relative to the sysfs root", t.File)
		}
	}
	if t.Sim != nil {
		n++
		if *t.Sim < -273.15 || *t.Sim > 1000 {
			return fmt.Errorf("simulated temperature %v°C out of range", *t.Sim)
		}
	}
	if n != 1 {
		return errors.New("want exactly one of file, sim")
	}
	return nil
}
