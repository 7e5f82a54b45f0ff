package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

const (
	disksQEMUSys  = "../../../drivers/sata/testdata/qemu-q35/sys"
	disksQEMUProc = "../../../drivers/sata/testdata/qemu-q35/proc"
)

// simulatedDisks returns an opener that answers for the q35 tree's disks
// with QEMU-like simulated disks, and the disks by device node.
func simulatedDisks(t *testing.T) (openATA, map[string]*satatest.Disk) {
	disks := map[string]*satatest.Disk{}
	for i, serial := range []string{"pv-boot", "pv-disk-1", "pv-disk-2", "pv-disk-3", "pv-disk-4"} {
		disks["/dev/sd"+string(rune('a'+i))] = &satatest.Disk{QEMU: true, Attrs: satatest.QEMUAttrs,
			Drive: satatest.Drive{Serial: serial, Sectors: 2097152}, FixedSense: i%2 == 0}
	}
	node := filepath.Join(t.TempDir(), "node")
	os.WriteFile(node, nil, 0o644)
	return func(path string) (*sata.ATA, error) {
		d, ok := disks[path]
		if !ok {
			return nil, os.ErrNotExist
		}
		return sata.OpenATA(node, &sata.Options{Transport: d})
	}, disks
}

func runWith(t *testing.T, fn func(stdio, []string, openATA) error, open openATA, args ...string) (string, string, error) {
	t.Helper()
	var o, e bytes.Buffer
	err := fn(stdio{strings.NewReader(""), &o, &e}, args, open)
	return o.String(), e.String(), err
}

func TestDisksEmpty(t *testing.T) {
	var o, e bytes.Buffer
	if code := run(stdio{nil, &o, &e}, []string{"disks", "--sysfs", t.TempDir()}); code != 0 {
		t.Fatalf("disks on an empty sysfs: exit %d, %s", code, e.String())
	}
	if lines := strings.Split(strings.TrimSpace(o.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "BAY") {
		t.Errorf("disks on an empty sysfs printed %q, want the header only", o.String())
	}
	o.Reset()
	if code := run(stdio{nil, &o, &e}, []string{"disks", "--json", "--sysfs", t.TempDir()}); code != 0 || strings.TrimSpace(o.String()) != "[]" {
		t.Errorf("disks --json on an empty sysfs = %d, %q; want 0, []", code, o.String())
	}
	// This machine: no SATA disks is an empty table, not an error.
	if code := run(stdio{nil, &bytes.Buffer{}, &e}, []string{"disks"}); code != 0 {
		t.Errorf("disks on this machine: exit %d: %s", code, e.String())
	}
	if code := run(stdio{nil, &o, &e}, []string{"disks", "extra"}); code != 2 {
		t.Errorf("disks extra: exit %d, want 2", code)
	}
}

func TestDisksQEMU(t *testing.T) {
	open, sim := simulatedDisks(t)
	sim["/dev/sdc"].Attrs = append([]satatest.Attr{{ID: 197, Flags: 0x32, Value: 100, Worst: 100, Raw: 3}}, satatest.QEMUAttrs...)
	sim["/dev/sdd"].Failing = true
	out, _, err := runWith(t, disksRun, open, "--sysfs", disksQEMUSys, "--proc", disksQEMUProc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		"0000:00:1f.2/ata1  /dev/sda  QEMU HARDDISK  pv-boot    -    2.15 GB  passed   31 C  boot",
		"0000:00:1f.2/ata2  /dev/sdb  QEMU HARDDISK  pv-disk-1  -    1.07 GB  passed   31 C  available",
		"0000:00:1f.2/ata3  /dev/sdc  QEMU HARDDISK  pv-disk-2  -    1.07 GB  warning  31 C  available",
		"0000:00:1f.2/ata4  /dev/sdd  QEMU HARDDISK  pv-disk-3  -    1.07 GB  failing  31 C  available",
		"0000:00:1f.2/ata5  /dev/sde  QEMU HARDDISK  pv-disk-4  -    1.07 GB  passed   31 C  available",
	}
	if len(lines) != 6 {
		t.Fatalf("disks printed %d lines, want 6:\n%s", len(lines), out)
	}
	for i, w := range want {
		if got := strings.TrimSpace(lines[i+1]); got != w {
			t.Errorf("line %d = %q\nwant       %q", i+1, got, w)
		}
	}

	out, _, err = runWith(t, disksRun, open, "--json", "--sysfs", disksQEMUSys, "--proc", disksQEMUProc)
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Bay, Path, Serial, Health, Role string
		Temperature                     *int `json:"temperature_c"`
		Size                            int64
		Boot                            bool
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].Bay != "0000:00:1f.2/ata1" || !got[0].Boot || got[1].Serial != "pv-disk-1" ||
		got[1].Size != 1<<30 || got[1].Temperature == nil || *got[1].Temperature != 31 || got[3].Health != "failing" {
		t.Errorf("disks --json = %+v", got)
	}
}

func TestDisksWithoutSMARTAccess(t *testing.T) {
	// The device nodes of the tree do not exist here: health is unknown,
	// the listing still works.
	out, _, err := runWith(t, disksRun, kernelATA, "--json", "--sysfs", disksQEMUSys, "--proc", disksQEMUProc)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	json.Unmarshal([]byte(out), &got)
	if len(got) != 5 || got[1]["health"] != "unknown" || got[1]["smart_error"] == nil {
		t.Errorf("disks without device nodes = %v", got)
	}
}

func TestSmart(t *testing.T) {
	open, sim := simulatedDisks(t)
	sim["/dev/sdb"].Drive = satatest.Drive{Model: "WDC WD40EFRX-68N32N0", Serial: "WD-WCC7K4XXXXXX", Firmware: "82.00A82",
		Sectors: 7814037168, WWN: 0x50014ee2b5c0ffee, PhysicalExp: 3, SCTERC: true, Checksum: true}
	sim["/dev/sdb"].QEMU = false
	sim["/dev/sdb"].ERCRead, sim["/dev/sdb"].ERCWrite = 70, 70
	sim["/dev/sdb"].Errors, sim["/dev/sdb"].ErrorLBAs = 2, []uint32{4242}

	out, _, err := runWith(t, smartRun, open, "/dev/sdb", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r smartReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Identity == nil || r.Identity.Serial != "WD-WCC7K4XXXXXX" || r.Health != sata.HealthPassed || r.Passed == nil || !*r.Passed ||
		r.ERCRead == nil || r.ERCRead.Seconds() != 7 || r.ErrorLog == nil || r.ErrorLog.Count != 2 || r.Errors != nil {
		t.Errorf("smart --json = %s", out)
	}

	// A self-test, then the log shows it.
	if _, _, err := runWith(t, smartRun, open, "--test", "long", "/dev/sdb"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runWith(t, smartRun, open, "/dev/sdb")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Serial:          WD-WCC7K4XXXXXX", "Error recovery:  read 7s, write 7s", "#1  extended  completed without error",
		"190  Airflow_Temperature_Cel  69     69     50      pre-fail  522125343  ok", "Error log: 2 errors in total"} {
		if !strings.Contains(out, w) {
			t.Errorf("smart output lacks %q:\n%s", w, out)
		}
	}

	// QEMU's disk has no SCT: reported, not fatal.
	out, _, err = runWith(t, smartRun, open, "/dev/sda", "--json")
	if err != nil || !strings.Contains(out, `"erc": "SCT Error Recovery Control not supported"`) {
		t.Errorf("smart /dev/sda = %v:\n%s", err, out)
	}
}

func TestSmartUsage(t *testing.T) {
	open, _ := simulatedDisks(t)
	for _, args := range [][]string{{}, {"--test", "medium", "/dev/sda"}, {"/dev/sda", "/dev/sdb"}} {
		if _, _, err := runWith(t, smartRun, open, args...); err != errUsage {
			t.Errorf("smart %q = %v, want usage", args, err)
		}
	}
	if _, _, err := runWith(t, smartRun, open, "/dev/sdz"); err == nil {
		t.Error("smart /dev/sdz succeeded")
	}
	if _, _, err := runWith(t, smartRun, open, "--sysfs", disksQEMUSys, "pv-disk-9"); err == nil {
		t.Error("smart of an unknown serial succeeded")
	}
	// By serial and by bay through the tree.
	for _, name := range []string{"pv-disk-3", "0000:00:1f.2/ata4", "sdd"} {
		out, _, err := runWith(t, smartRun, open, "--sysfs", disksQEMUSys, name, "--json")
		if err != nil || !strings.Contains(out, `"device": "/dev/sdd"`) || !strings.Contains(out, `"serial": "pv-disk-3"`) {
			t.Errorf("smart %s = %v:\n%.300s", name, err, out)
		}
	}
}
