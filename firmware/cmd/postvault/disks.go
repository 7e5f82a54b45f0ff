package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/postvault/postvault/drivers/sata"
)

// openATA opens a disk for ATA commands; tests replace it with a simulated
// disk.
type openATA func(path string) (*sata.ATA, error)

func kernelATA(path string) (*sata.ATA, error) { return sata.OpenATA(path, nil) }

// diskReport is one line of `postvault disks`.
type diskReport struct {
	sata.Disk
	Health      sata.Health `json:"health"`
	Temperature *int        `json:"temperature_c"`
	Role        string      `json:"role"` // boot, in use, available
	SMARTError  string      `json:"smart_error,omitempty"`
}

func disksMain(io stdio, args []string) error { return disksRun(io, args, kernelATA) }

func disksRun(io stdio, args []string, open openATA) error {
	fs := flag.NewFlagSet("disks", flag.ContinueOnError)
	fs.SetOutput(io.err)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	sysfs := fs.String("sysfs", "/sys", "sysfs root")
	proc := fs.String("proc", "/proc", "procfs root (mounts, kernel command line)")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "usage: postvault disks [--json] [--sysfs ROOT] [--proc ROOT]")
		fmt.Fprintln(io.err, "lists every SATA disk: bay, device, model, serial, WWN, size, health, temperature")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	sc, err := sata.NewScanner(&sata.ScanOptions{Sysfs: *sysfs, Proc: *proc})
	if err != nil {
		return err
	}
	disks, err := sc.Scan()
	if err != nil {
		return err
	}
	reports := make([]diskReport, 0, len(disks))
	for _, d := range disks {
		reports = append(reports, report(d, open))
	}
	if *asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	return printDisks(io.out, reports)
}

// report asks the disk for its health; a disk that cannot be asked (no
// device node, no permission) is listed with health unknown.
func report(d sata.Disk, open openATA) diskReport {
	r := diskReport{Disk: d, Health: sata.HealthUnknown, Role: "available"}
	switch {
	case d.Boot:
		r.Role = "boot"
	case d.InUse:
		r.Role = "in use"
	}
	a, err := open(d.Path)
	if err != nil {
		r.SMARTError = err.Error()
		return r
	}
	defer a.Close()
	passed, err := a.SMARTStatus()
	if err != nil {
		r.SMARTError = err.Error()
		return r
	}
	s, err := a.SMART()
	if err != nil {
		r.SMARTError = err.Error()
		r.Health = sata.Assess(passed, nil)
		return r
	}
	r.Health = sata.Assess(passed, s)
	if t, ok := s.Temperature(); ok {
		r.Temperature = &t
	}
	return r
}

func printDisks(w io.Writer, reports []diskReport) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "BAY\tDEVICE\tMODEL\tSERIAL\tWWN\tSIZE\tHEALTH\tTEMP\tROLE")
	for _, r := range reports {
		temp := "-"
		if r.Temperature != nil {
			temp = fmt.Sprintf("%d C", *r.Temperature)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Bay, r.Path, dash(r.Model), dash(r.Serial),
			dash(r.WWN), humanSize(r.Size), r.Health, temp, r.Role)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanSize prints bytes in decimal units, as disk vendors count.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f %s", f, units[i])
	case f >= 10:
		return fmt.Sprintf("%.1f %s", f, units[i])
	}
	return fmt.Sprintf("%.2f %s", f, units[i])
}
