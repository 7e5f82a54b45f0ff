package hal

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/postvault/postvault/hal/ahciem"
	"github.com/postvault/postvault/hal/gpioline"
	"github.com/postvault/postvault/hal/ledclass"
	"github.com/postvault/postvault/hal/sim"
	"github.com/postvault/postvault/hal/thermal"
)

// The built-in profiles.
const (
	ProfileQEMU        = "qemu"
	ProfileGenericAHCI = "generic-ahci"
	ProfileRPiSATAHat  = "rpi-sata-hat"
	ProfileSimulated   = "simulated"
)

//go:embed profiles/*.json
var profileFS embed.FS

// Profiles returns the names of the built-in profiles.
func Profiles() []string {
	return []string{ProfileGenericAHCI, ProfileQEMU, ProfileRPiSATAHat, ProfileSimulated}
}

// Describe returns the board file of a built-in profile, a board file's
// path, or "" for the profile Detect picks. generic-ahci is the one profile
// made at run time: one bay per AHCI port under the sysfs root, numbered in
// disk-port order, with enclosure LEDs where the port has an em_message.
func Describe(board string, opts *Options) (*BoardFile, error) {
	if board == "" {
		p, err := Detect(opts.root())
		if err != nil {
			return nil, err
		}
		board = p
	}
	switch {
	case board == ProfileGenericAHCI:
		return genericAHCI(opts.root())
	case isProfile(board):
		data, err := profileFS.ReadFile("profiles/" + board + ".json")
		if err != nil {
			return nil, fmt.Errorf("hal: profile %s: %w", board, err)
		}
		return ParseBoardFile(data)
	case strings.ContainsAny(board, "/."):
		data, err := readFile(board)
		if err != nil {
			return nil, err
		}
		f, err := ParseBoardFile(data)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, board)
		}
		return f, nil
	}
	return nil, fmt.Errorf("hal: unknown board %q: want one of %s, or a board file's path", board, strings.Join(Profiles(), ", "))
}

func isProfile(name string) bool {
	for _, p := range Profiles() {
		if p == name {
			return true
		}
	}
	return false
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("hal: board file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("hal: board file: %w", err)
	}
	return data, nil
}

// Open opens a board: a built-in profile by name, a board file by path, or
// ("" ) the profile Detect picks from the sysfs root. It is Describe
// followed by Build.
func Open(board string, opts *Options) (*Board, error) {
	f, err := Describe(board, opts)
	if err != nil {
		return nil, err
	}
	return Build(f, opts)
}

// Build opens the backends a board file names and makes the Board.
func Build(f *BoardFile, opts *Options) (*Board, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	bl := &builder{opts: opts, root: opts.root(), ems: map[string]*ahciem.Port{}}
	hw, err := bl.hardware(f)
	if err != nil {
		bl.release()
		return nil, fmt.Errorf("hal: board %s: %w", f.Name, err)
	}
	b, err := New(hw, opts)
	if err != nil {
		bl.release()
		return nil, err
	}
	return b, nil
}

// builder opens backends and remembers what to release.
type builder struct {
	opts    *Options
	root    string
	log     *sim.Log
	ems     map[string]*ahciem.Port
	closers []func() error
}

func (bl *builder) release() error {
	var errs []error
	for _, c := range bl.closers {
		errs = append(errs, c())
	}
	bl.closers = nil
	return errors.Join(errs...)
}

func (bl *builder) simLog() *sim.Log {
	if bl.log == nil {
		if bl.opts != nil && bl.opts.SimLog != nil {
			bl.log = bl.opts.SimLog
		} else {
			bl.log = sim.NewLog(bl.opts.clock())
		}
	}
	return bl.log
}

func (bl *builder) hardware(f *BoardFile) (Hardware, error) {
	hw := Hardware{Name: f.Name, Model: f.Model, Release: bl.release}
	var err error
	if hw.Status, err = bl.led(f.Status, ""); err != nil {
		return hw, fmt.Errorf("status LED: %w", err)
	}
	for _, s := range f.Sensors {
		t, err := bl.temp(s.Name, &s.TempSpec)
		if err != nil {
			return hw, fmt.Errorf("sensor %s: %w", s.Name, err)
		}
		hw.Sensors = append(hw.Sensors, t)
	}
	for _, bs := range f.Bays {
		bh, err := bl.bay(bs)
		if err != nil {
			return hw, fmt.Errorf("bay %d: %w", bs.Bay, err)
		}
		hw.Bays = append(hw.Bays, bh)
	}
	hw.SimLog = bl.log
	return hw, nil
}

func (bl *builder) bay(bs BaySpec) (BayHardware, error) {
	bh := BayHardware{Number: bs.Bay, Port: bs.Port}
	var err error
	if bh.Fault, err = bl.led(bs.Fault, bs.Port); err != nil {
		return bh, fmt.Errorf("fault LED: %w", err)
	}
	if bh.Locate, err = bl.led(bs.Locate, bs.Port); err != nil {
		return bh, fmt.Errorf("locate LED: %w", err)
	}
	if bh.Activity, err = bl.led(bs.Activity, bs.Port); err != nil {
		return bh, fmt.Errorf("activity LED: %w", err)
	}
	bh.Enclosure = bs.Fault != nil && bs.Fault.EM != nil || bs.Locate != nil && bs.Locate.EM != nil
	if p := bs.Presence; p != nil {
		switch {
		case p.GPIO != nil:
			l, err := bl.line(p.GPIO)
			if err != nil {
				return bh, fmt.Errorf("presence: %w", err)
			}
			pull := map[string]gpio.Pull{"": gpio.PullNoChange, "up": gpio.PullUp, "down": gpio.PullDown, "float": gpio.Float}[p.GPIO.Pull]
			if err := l.In(pull, gpio.NoEdge); err != nil {
				return bh, fmt.Errorf("presence: %w", err)
			}
			bh.Present = l
		default:
			sw := bl.simLog().Pin(p.Sim)
			sw.Set(gpio.High)
			bh.Present = sw
		}
	}
	if bs.Temperature != nil {
		t, err := bl.temp(fmt.Sprintf("bay%d", bs.Bay), bs.Temperature)
		if err != nil {
			return bh, fmt.Errorf("temperature: %w", err)
		}
		bh.Temperature = t
	}
	return bh, nil
}

// led opens an LED; a nil spec gives a nil pin.
func (bl *builder) led(s *LEDSpec, port string) (gpio.PinOut, error) {
	switch {
	case s == nil:
		return nil, nil
	case s.LEDClass != "":
		return ledclass.Open(bl.root, s.LEDClass)
	case s.GPIO != nil:
		return bl.line(s.GPIO)
	case s.EM != nil:
		p, err := bl.em(s.EM, port)
		if err != nil {
			return nil, err
		}
		if s.EM.LED == "fault" {
			return p.Fault(), nil
		}
		return p.Locate(), nil
	}
	return bl.simLog().Pin(s.Sim), nil
}

func (bl *builder) line(g *GPIOSpec) (*gpioline.Line, error) {
	var lookup gpioline.Lookup
	if bl.opts != nil {
		lookup = bl.opts.Lines
	}
	l, err := gpioline.Open(lookup, g.Chip, g.Line, g.ActiveLow)
	if err != nil {
		return nil, err
	}
	bl.closers = append(bl.closers, l.Close)
	return l, nil
}

func (bl *builder) em(s *EMSpec, port string) (*ahciem.Port, error) {
	host := s.Host
	if host == "" {
		h, err := ahciem.HostOf(bl.root, port)
		if err != nil {
			return nil, err
		}
		host = h
	}
	k := fmt.Sprintf("%s/%d", host, s.Slot)
	if p, ok := bl.ems[k]; ok {
		return p, nil
	}
	p, err := ahciem.Open(bl.root, host, s.Slot)
	if err != nil {
		return nil, err
	}
	bl.ems[k] = p
	return p, nil
}

func (bl *builder) temp(name string, t *TempSpec) (physic.SenseEnv, error) {
	if t.Sim != nil {
		return sim.NewThermometer(name, physic.ZeroCelsius+physic.Temperature(*t.Sim*float64(physic.Celsius))), nil
	}
	return thermal.Open(bl.root, name, t.File)
}

// genericAHCI describes the AHCI ports under root as a board.
func genericAHCI(root string) (*BoardFile, error) {
	ports, err := ahciem.Ports(root)
	if err != nil {
		return nil, fmt.Errorf("hal: generic-ahci: %w", err)
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("hal: generic-ahci: no AHCI ports under %s", root)
	}
	if len(ports) > 64 {
		ports = ports[:64]
	}
	f := &BoardFile{Version: FileVersion, Name: ProfileGenericAHCI, Model: "AHCI controllers, one bay per port"}
	em := 0
	for i, p := range ports {
		bs := BaySpec{Bay: i + 1, Port: p.Key}
		if p.EM {
			em++
			bs.Fault = &LEDSpec{EM: &EMSpec{LED: "fault", Host: p.Host}}
			bs.Locate = &LEDSpec{EM: &EMSpec{LED: "locate", Host: p.Host}}
		}
		f.Bays = append(f.Bays, bs)
	}
	if em > 0 {
		f.Model += fmt.Sprintf(", enclosure LEDs on %d", em)
	}
	sort.SliceStable(f.Bays, func(i, j int) bool { return f.Bays[i].Bay < f.Bays[j].Bay })
	return f, f.Validate()
}
