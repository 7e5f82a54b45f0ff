package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/postvault/postvault/drivers/sata"
)

// smartReport is what `postvault smart DEVICE --json` prints.
type smartReport struct {
	Device      string            `json:"device"`
	Bay         string            `json:"bay,omitempty"`
	Identity    *sata.Identity    `json:"identity,omitempty"`
	Passed      *bool             `json:"smart_status_passed"`
	Health      sata.Health       `json:"health"`
	Temperature *int              `json:"temperature_c"`
	SMART       *sata.SMARTData   `json:"smart,omitempty"`
	SelfTestLog *sata.SelfTestLog `json:"self_test_log,omitempty"`
	ErrorLog    *sata.ErrorLog    `json:"error_log,omitempty"`
	// ERCRead and ERCWrite are the SCT Error Recovery Control times.
	ERCRead  *time.Duration `json:"erc_read_ns,omitempty"`
	ERCWrite *time.Duration `json:"erc_write_ns,omitempty"`
	// Errors holds what could not be read, by part ("identity", "status",
	// "smart", "self_test_log", "error_log", "erc").
	Errors map[string]string `json:"errors,omitempty"`
	// Test is set with --test: the self-test started.
	Test *startedTest `json:"test,omitempty"`
}

type startedTest struct {
	Kind    string        `json:"kind"`
	Started bool          `json:"started"`
	Takes   time.Duration `json:"expected_duration_ns"`
}

func smartMain(io stdio, args []string) error { return smartRun(io, args, kernelATA) }

// splitArgs separates flags from positional arguments, so that
// `smart /dev/sda --json` and `smart --json /dev/sda` both work.
func splitArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func smartRun(io stdio, args []string, open openATA) error {
	fs := flag.NewFlagSet("smart", flag.ContinueOnError)
	fs.SetOutput(io.err)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	test := fs.String("test", "", "start a self-test: short or long")
	sysfs := fs.String("sysfs", "/sys", "sysfs root, to find a disk by bay, name or serial")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "usage: postvault smart DEVICE [--json] [--test short|long] [--sysfs ROOT]")
		fmt.Fprintln(io.err, "DEVICE is a device node (/dev/sda), a name (sda), a bay (0000:00:1f.2/ata3) or a serial")
		fs.PrintDefaults()
	}
	pos, err := splitArgs(fs, args)
	if err != nil || len(pos) != 1 || (*test != "" && *test != "short" && *test != "long") {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	path, bay, err := resolveDevice(pos[0], *sysfs)
	if err != nil {
		return err
	}
	a, err := open(path)
	if err != nil {
		return err
	}
	defer a.Close()
	r := &smartReport{Device: path, Bay: bay, Health: sata.HealthUnknown, Errors: map[string]string{}}
	if *test != "" {
		return startTest(io.out, a, r, *test, *asJSON)
	}
	gather(a, r)
	if *asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printSMART(io.out, r)
	if r.Identity == nil && r.Passed == nil {
		return fmt.Errorf("%s answers no ATA command: %s", path, r.Errors["identity"])
	}
	return nil
}

// resolveDevice turns DEVICE into a device node, looking names, bays and
// serials up in sysfs.
func resolveDevice(arg, sysfs string) (path, bay string, err error) {
	if strings.HasPrefix(arg, "/") {
		return arg, "", nil
	}
	sc, err := sata.NewScanner(&sata.ScanOptions{Sysfs: sysfs})
	if err != nil {
		return "", "", err
	}
	disks, err := sc.Scan()
	if err != nil {
		return "", "", err
	}
	for _, d := range disks {
		if d.Name == arg || d.Bay == arg || d.Serial == arg {
			return d.Path, d.Bay, nil
		}
	}
	return "", "", fmt.Errorf("no SATA disk %q (give a device node, a name, a bay or a serial)", arg)
}

func startTest(w io.Writer, a *sata.ATA, r *smartReport, kind string, asJSON bool) error {
	t := sata.SelfTestShort
	if kind == "long" {
		t = sata.SelfTestExtended
	}
	st := &startedTest{Kind: kind}
	if s, err := a.SMART(); err == nil {
		if !s.SelfTestSupported {
			return fmt.Errorf("%s does not support self-tests", r.Device)
		}
		st.Takes = s.ShortTestTime
		if t == sata.SelfTestExtended {
			st.Takes = s.ExtendedTestTime
		}
	}
	if err := a.StartSelfTest(t); err != nil {
		return err
	}
	st.Started = true
	r.Test = st
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"device": r.Device, "test": st})
	}
	fmt.Fprintf(w, "%s: %s self-test started, expected to take %v; `postvault smart %s` shows the result\n",
		r.Device, kind, st.Takes, r.Device)
	return nil
}

// gather reads everything it can; a part that fails is noted in r.Errors.
func gather(a *sata.ATA, r *smartReport) {
	note := func(part string, err error) bool {
		if err != nil {
			r.Errors[part] = err.Error()
			return false
		}
		return true
	}
	id, err := a.Identify()
	if note("identity", err) {
		r.Identity = id
	}
	passed, err := a.SMARTStatus()
	if note("status", err) {
		r.Passed = &passed
	}
	s, err := a.SMART()
	if note("smart", err) {
		r.SMART = s
		if t, ok := s.Temperature(); ok {
			r.Temperature = &t
		}
	}
	if r.Passed != nil {
		r.Health = sata.Assess(*r.Passed, r.SMART)
	}
	if l, err := a.SelfTestLog(); note("self_test_log", err) {
		r.SelfTestLog = l
	}
	if l, err := a.ErrorLog(); note("error_log", err) {
		r.ErrorLog = l
	}
	if id != nil {
		rd, wr, err := a.ErrorRecovery(id)
		if errors.Is(err, sata.ErrUnsupported) {
			r.Errors["erc"] = "SCT Error Recovery Control not supported"
		} else if note("erc", err) {
			r.ERCRead, r.ERCWrite = &rd, &wr
		}
	}
	if len(r.Errors) == 0 {
		r.Errors = nil
	}
}

func printSMART(w io.Writer, r *smartReport) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Device:\t%s\n", r.Device)
	if r.Bay != "" {
		fmt.Fprintf(tw, "Bay:\t%s\n", r.Bay)
	}
	if id := r.Identity; id != nil {
		fmt.Fprintf(tw, "Model:\t%s\nSerial:\t%s\nFirmware:\t%s\nWWN:\t%s\n", id.Model, id.Serial, id.Firmware, dash(id.WWNString()))
		fmt.Fprintf(tw, "Capacity:\t%s (%d sectors of %d bytes, physical %d)\n", humanSize(id.Size()), id.Sectors, id.LogicalSectorSize, id.PhysicalSectorSize)
		fmt.Fprintf(tw, "SMART:\tsupported %v, enabled %v\n", id.SMARTSupported, id.SMARTEnabled)
	}
	fmt.Fprintf(tw, "Health:\t%s\n", r.Health)
	if r.Temperature != nil {
		fmt.Fprintf(tw, "Temperature:\t%d C\n", *r.Temperature)
	}
	if r.ERCRead != nil {
		fmt.Fprintf(tw, "Error recovery:\tread %v, write %v\n", *r.ERCRead, *r.ERCWrite)
	}
	tw.Flush()
	if s := r.SMART; s != nil {
		fmt.Fprintf(w, "\nSelf-test status: %s", sata.SelfTestResult(s.SelfTestStatus))
		if s.SelfTestStatus>>4 == 15 {
			fmt.Fprintf(w, ", %d%% to go", int(s.SelfTestStatus&0xf)*10)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tATTRIBUTE\tVALUE\tWORST\tTHRESH\tTYPE\tRAW\tSTATE")
		for _, at := range s.Attributes {
			typ := "old-age"
			if at.Prefailure() {
				typ = "pre-fail"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", at.ID, at.Name, at.Value, at.Worst, at.Threshold, typ, at.Raw, at.State)
		}
		tw.Flush()
	}
	if l := r.SelfTestLog; l != nil {
		fmt.Fprintf(w, "\nSelf-test log: %d entries\n", len(l.Entries))
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for i, e := range l.Entries {
			fmt.Fprintf(tw, "#%d\t%s\t%s\t%d h\tLBA %d\n", i+1, e.Test, e.Result, e.LifetimeHours, e.FailingLBA)
		}
		tw.Flush()
	}
	if l := r.ErrorLog; l != nil {
		fmt.Fprintf(w, "\nError log: %d errors in total\n", l.Count)
		for _, e := range l.Entries {
			fmt.Fprintf(w, "  at %d h: error %#02x status %#02x LBA %d\n", e.LifetimeHours, e.Error, e.Status, e.LBA)
		}
	}
	parts := make([]string, 0, len(r.Errors))
	for part := range r.Errors {
		parts = append(parts, part)
	}
	sort.Strings(parts)
	for _, part := range parts {
		fmt.Fprintf(w, "\n%s: %s", part, r.Errors[part])
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w)
	}
}
