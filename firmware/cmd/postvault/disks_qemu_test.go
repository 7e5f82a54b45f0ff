package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/qemu"
)

// TestDisksQEMU runs `postvault disks --json` and `postvault smart --json`
// inside QEMU (q35, TCG, the gokrazy kernel) against two ide-hd disks:
// TestInQEMUDisksGuest is the guest half.
func TestDisksInQEMU(t *testing.T) {
	if os.Getenv("POSTVAULT_QEMU_GUEST") == "1" {
		t.Skip("inside the guest")
	}
	if testing.Short() {
		t.Skip("VM test skipped in -short mode")
	}
	if err := qemu.Available(); err != nil {
		t.Skipf("no QEMU here: %v", err)
	}
	dir := t.TempDir()
	disks := []qemu.Disk{
		{Path: filepath.Join(dir, "a.img"), Size: 64 << 20, Serial: "PVCMD-A"},
		{Path: filepath.Join(dir, "b.img"), Size: 32 << 20, Serial: "PVCMD-B"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := qemu.GoTest(ctx, ".", []string{"-test.run=^TestInQEMUDisksGuest$"},
		&qemu.Guest{Disks: disks, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit != 0 || !strings.Contains(res.Output, "--- PASS: TestInQEMUDisksGuest") {
		t.Fatalf("in-guest test: exit %d, output:\n%s", res.Exit, res.Output)
	}
	t.Logf("in-guest output:\n%s", res.Output)
}

func TestInQEMUDisksGuest(t *testing.T) {
	if os.Getenv("POSTVAULT_QEMU_GUEST") != "1" {
		t.Skip("runs inside a QEMU guest (TestDisksInQEMU)")
	}
	var o, e bytes.Buffer
	if code := run(stdio{nil, &o, &e}, []string{"disks", "--json"}); code != 0 {
		t.Fatalf("postvault disks --json: exit %d: %s", code, e.String())
	}
	t.Logf("postvault disks --json:\n%s", o.String())
	var disks []struct {
		Bay, Path, Model, Serial, Health string
		Size                             int64
		Temperature                      *int `json:"temperature_c"`
	}
	if err := json.Unmarshal(o.Bytes(), &disks); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"PVCMD-A": 64 << 20, "PVCMD-B": 32 << 20}
	for _, d := range disks {
		if size, ok := want[d.Serial]; ok {
			if d.Size != size || d.Model != "QEMU HARDDISK" || d.Health != "passed" || d.Temperature == nil || *d.Temperature != 31 ||
				!strings.Contains(d.Bay, "/ata") {
				t.Errorf("disk %+v", d)
			}
			delete(want, d.Serial)
		}
	}
	if len(want) != 0 {
		t.Errorf("disks not listed: %v", want)
	}
	o.Reset()
	if code := run(stdio{nil, &o, &e}, []string{"smart", "PVCMD-B", "--json"}); code != 0 {
		t.Fatalf("postvault smart PVCMD-B --json: exit %d: %s", code, e.String())
	}
	var r smartReport
	if err := json.Unmarshal(o.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Identity == nil || r.Identity.Serial != "PVCMD-B" || r.Health != "passed" || r.SMART == nil || len(r.SMART.Attributes) != 7 ||
		r.SelfTestLog == nil || r.ErrorLog == nil || r.Errors["erc"] == "" {
		t.Errorf("smart --json = %s", o.String())
	}
	o.Reset()
	if code := run(stdio{nil, &o, &e}, []string{"smart", "PVCMD-B", "--test", "short"}); code != 0 {
		t.Fatalf("postvault smart --test short: exit %d: %s", code, e.String())
	}
	o.Reset()
	run(stdio{nil, &o, &e}, []string{"smart", "PVCMD-B"})
	if !strings.Contains(o.String(), "#1  short  completed without error") {
		t.Errorf("smart after a short test:\n%s", o.String())
	}
	t.Logf("postvault smart PVCMD-B:\n%s", o.String())
}
