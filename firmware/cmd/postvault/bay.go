package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postvault/postvault/hal"
)

const bayUsage = `usage: postvault bay PATTERN BAY [--board PROFILE|FILE] [--sysfs ROOT] [--for DURATION] [--json]

Sets a bay's indicator pattern, as ledctl does. PATTERN is locate, fail,
rebuild or normal (also pfa, hotspare, degraded, failed_array). BAY is a bay
number as printed on the chassis, a disk-port key (0000:00:1f.2/ata3) or a
disk (sda, /dev/sda).

  --board PROFILE|FILE  board profile (qemu, generic-ahci, rpi-sata-hat,
                        simulated) or board file; default: detect from sysfs
  --sysfs ROOT          sysfs root to use (default /sys)
  --for DURATION        blink the pattern for DURATION (e.g. 30s), then set
                        the bay back to normal; without it the pattern is set
                        as steady light, which the hardware holds after
                        postvault exits (a blinking pattern shows steadily)
  --json                print the bay's state as JSON

Patterns blink in software, so only a running process can blink them. While
the appliance firmware (postvault serve) runs, it owns the LEDs and sets them
from the disks' state; this command is for bring-up, tests and boxes where
the firmware is not running.
`

// bayArgs are the parsed arguments of postvault bay.
type bayArgs struct {
	pattern hal.Pattern
	bay     string
	board   string
	sysfs   string
	hold    time.Duration
	json    bool
}

func parseBayArgs(io stdio, args []string) (*bayArgs, error) {
	a := &bayArgs{}
	fs := flag.NewFlagSet("bay", flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() { fmt.Fprint(io.err, bayUsage) }
	fs.StringVar(&a.board, "board", "", "board profile or file")
	fs.StringVar(&a.sysfs, "sysfs", "/sys", "sysfs root")
	fs.DurationVar(&a.hold, "for", 0, "blink for this long")
	fs.BoolVar(&a.json, "json", false, "JSON output")
	// Flags may come before, between or after the two operands.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 2 || a.hold < 0 {
		fs.Usage()
		return nil, errUsage
	}
	p, err := hal.ParsePattern(pos[0])
	if err != nil {
		fmt.Fprintf(io.err, "postvault bay: %v\n", err)
		fs.Usage()
		return nil, errUsage
	}
	a.pattern, a.bay = p, pos[1]
	return a, nil
}

func bayMain(io stdio, args []string) error {
	a, err := parseBayArgs(io, args)
	if err != nil {
		return err
	}
	b, err := hal.Open(a.board, &hal.Options{Root: a.sysfs, Solid: a.hold == 0})
	if err != nil {
		return err
	}
	defer b.Close()
	bay, err := findBay(b, a.sysfs, a.bay)
	if err != nil {
		return err
	}
	if err := bay.SetPattern(a.pattern); err != nil {
		return err
	}
	if a.hold > 0 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		t := time.NewTimer(a.hold)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		stop()
		if err := bay.SetPattern(hal.Normal); err != nil {
			return err
		}
	}
	return printBay(io, a, b, bay)
}

// findBay resolves a bay number, a disk-port key or a disk name.
func findBay(b *hal.Board, sysfs, s string) (*hal.Bay, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return b.Bay(n)
	}
	if hal.CheckPort(s) == nil {
		return b.BayByPort(s)
	}
	port, err := diskPort(sysfs, s)
	if err != nil {
		return nil, err
	}
	return b.BayByPort(port)
}

var diskRE = regexp.MustCompile(`^[a-z]+$`)

// diskPort returns the disk-port key of a disk ("sda" or "/dev/sda") from
// its sysfs path: the controller and ataN elements of block/sda's target.
func diskPort(sysfs, disk string) (string, error) {
	name := strings.TrimPrefix(disk, "/dev/")
	if !diskRE.MatchString(name) {
		return "", fmt.Errorf("bay %q: want a bay number, a disk port (0000:00:1f.2/ata3) or a disk (sda)", disk)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(sysfs, "block", name))
	if err != nil {
		return "", fmt.Errorf("disk %s: %w", name, err)
	}
	parts := strings.Split(filepath.ToSlash(real), "/")
	for i := len(parts) - 1; i > 0; i-- {
		if key := parts[i-1] + "/" + parts[i]; strings.HasPrefix(parts[i], "ata") && hal.CheckPort(key) == nil {
			return key, nil
		}
	}
	return "", fmt.Errorf("disk %s is not on a SATA port (%s)", name, real)
}

// bayReport is postvault bay's JSON output.
type bayReport struct {
	Board  string       `json:"board"`
	Bay    hal.BayState `json:"bay"`
	Solid  bool         `json:"solid"` // blinking patterns were shown steadily
	Held   string       `json:"held,omitempty"`
	Writes []string     `json:"sim_writes,omitempty"` // the simulated board's LED writes
}

func printBay(io stdio, a *bayArgs, b *hal.Board, bay *hal.Bay) error {
	st := b.State()
	if st.Err != "" {
		return errors.New(st.Err)
	}
	bs := st.Bays[bay.Number()-1]
	r := bayReport{Board: b.Name(), Bay: bs, Solid: a.hold == 0}
	if a.hold > 0 {
		r.Held = a.pattern.String() + " for " + a.hold.String()
	}
	if log := b.SimLog(); log != nil {
		for _, e := range log.Events() {
			r.Writes = append(r.Writes, e.String())
		}
	}
	if a.json {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(io.out, "%s on %s: %s\n", bay, b.Name(), bs.Pattern)
	for _, l := range []struct {
		role string
		s    *hal.LEDState
	}{{"fault", bs.Fault}, {"locate", bs.Locate}, {"activity", bs.Activity}} {
		if l.s == nil {
			continue
		}
		lv := "off"
		if l.s.Level {
			lv = "on"
		}
		fmt.Fprintf(io.out, "  %-8s %-24s %s\n", l.role, l.s.Name, lv)
	}
	if bs.Fault == nil && bs.Locate == nil {
		fmt.Fprintf(io.out, "  (this bay has no LEDs on %s)\n", b.Name())
	}
	if a.hold > 0 {
		fmt.Fprintf(io.out, "  showed %s for %v, then normal\n", a.pattern, a.hold)
	} else if a.pattern != hal.Normal && a.pattern != hal.Fail {
		fmt.Fprintf(io.out, "  steady light: blinking needs a running process (--for DURATION, or the firmware)\n")
	}
	return nil
}
