package sata_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
	"github.com/postvault/postvault/qemu"
)

// qemuSerials are the data disks TestQEMU attaches; the guest half checks
// each by serial.
var qemuSerials = []string{"PVSATA-1", "PVSATA-2"}

// TestQEMU boots the gokrazy kernel in QEMU (q35, TCG) with two ide-hd
// disks on an ich9-ahci controller and runs TestInQEMUGuest inside: real
// sysfs discovery, IDENTIFY and SMART through SG_IO, a self-test, O_DIRECT
// I/O on the block device, and a disk deleted and rescanned with the
// uevents seen by a Watcher.
func TestQEMU(t *testing.T) {
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
	var disks []qemu.Disk
	for i, s := range qemuSerials {
		disks = append(disks, qemu.Disk{Path: filepath.Join(dir, s+".img"), Size: int64(64+32*i) << 20, Serial: s})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := qemu.GoTest(ctx, ".", []string{"-test.run=^TestInQEMUGuest$"},
		&qemu.Guest{Disks: disks, Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit != 0 || !strings.Contains(res.Output, "--- PASS: TestInQEMUGuest") {
		t.Fatalf("in-guest test: exit %d, output:\n%s", res.Exit, res.Output)
	}
	t.Logf("guest ran in %v (boot %v); in-guest log:\n%s", time.Since(start), res.Ready, res.Output)
}

// TestInQEMUGuest is the guest half of TestQEMU.
func TestInQEMUGuest(t *testing.T) {
	if os.Getenv("POSTVAULT_QEMU_GUEST") != "1" {
		t.Skip("runs inside a QEMU guest (TestQEMU)")
	}
	s, err := sata.NewScanner(nil)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := s.Scan()
	if err != nil {
		t.Fatal(err)
	}
	bySerial := map[string]sata.Disk{}
	for _, d := range disks {
		t.Logf("%s %s %q %q %d bytes boot=%v", d.Bay, d.Path, d.Model, d.Serial, d.Size, d.Boot)
		bySerial[d.Serial] = d
	}
	for i, serial := range qemuSerials {
		d, ok := bySerial[serial]
		if !ok {
			t.Fatalf("disk %s not found", serial)
		}
		if d.Model != "QEMU HARDDISK" || d.Size != int64(64+32*i)<<20 || d.Boot || d.Identity == nil || !strings.Contains(d.Bay, "/ata") {
			t.Errorf("disk %s = %+v", serial, d)
		}
		t.Run(serial, func(t *testing.T) { guestATA(t, d) })
	}
	guestMember(t, bySerial[qemuSerials[0]])
	guestHotplug(t, s, bySerial[qemuSerials[1]])
}

func guestATA(t *testing.T, d sata.Disk) {
	a, err := sata.OpenATA(d.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	page, err := a.IdentifyPage()
	if err != nil {
		t.Fatal(err)
	}
	id, err := sata.DecodeIdentify(page)
	if err != nil {
		t.Fatal(err)
	}
	if *id != *d.Identity {
		t.Errorf("IDENTIFY through SG_IO = %+v\nsysfs id = %+v", id, d.Identity)
	}
	if want := satatest.QEMUIdentify(d.Serial, uint64(d.Size/512)); !bytes.Equal(page, want) {
		t.Errorf("IDENTIFY page differs from satatest.QEMUIdentify:\n%s\nwant\n%s", sata.FormatIDFile(page), sata.FormatIDFile(want))
	}
	rec := &satatest.Record{Transport: sata.KernelTransport()}
	ra, err := sata.OpenATA(d.Path, &sata.Options{Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	data, thresh, err := ra.SMARTPages()
	if err != nil {
		t.Fatal(err)
	}
	wantData, wantThresh := satatest.SMARTPages(satatest.QEMUAttrs, 0)
	if !bytes.Equal(data, wantData) || !bytes.Equal(thresh, wantThresh) {
		t.Errorf("SMART pages differ from satatest.SMARTPages(QEMUAttrs):\n% x\n% x", data, thresh)
	}
	ra.SMARTStatus()
	for i, op := range rec.Ops {
		t.Logf("SG_IO %d: CDB % x status %d sense % x", i, op.CDB, op.Status, op.Sense)
	}
	passed, err := a.SMARTStatus()
	if err != nil || !passed {
		t.Errorf("SMARTStatus() = %v, %v", passed, err)
	}
	sm, err := a.SMART()
	if err != nil {
		t.Fatal(err)
	}
	if temp, ok := sm.Temperature(); !ok || temp != 31 || len(sm.Attributes) != 7 || !sm.ChecksumOK || sata.Assess(passed, sm) != sata.HealthPassed {
		t.Errorf("SMART = %+v (temperature %d)", sm, temp)
	}
	if err := a.StartSelfTest(sata.SelfTestShort); err != nil {
		t.Fatal(err)
	}
	l, err := a.SelfTestLog()
	if err != nil || len(l.Entries) != 1 || l.Entries[0].Test != sata.SelfTestShort || !l.Entries[0].Passed() {
		t.Errorf("SelfTestLog() = %+v, %v; want one passed short test", l, err)
	}
	if el, err := a.ErrorLog(); err != nil || el.Count != 0 {
		t.Errorf("ErrorLog() = %+v, %v", el, err)
	}
	if err := a.SetErrorRecovery(id, 7*time.Second, 7*time.Second); !errors.Is(err, sata.ErrUnsupported) {
		t.Errorf("SetErrorRecovery on QEMU = %v, want ErrUnsupported", err)
	}
}

func guestMember(t *testing.T, d sata.Disk) {
	m, err := sata.OpenDisk(d.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.Direct() || m.Size() != d.Size || !errors.Is(m.ERCError(), sata.ErrUnsupported) {
		t.Errorf("member: direct %v size %d erc %v", m.Direct(), m.Size(), m.ERCError())
	}
	want := bytes.Repeat([]byte("postvault"), 1000)
	if _, err := m.WriteAt(want, 12345); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := m.ReadAt(got, 12345); err != nil || !bytes.Equal(got, want) {
		t.Errorf("read back: %v, equal %v", err, bytes.Equal(got, want))
	}
	if _, err := sata.OpenDisk(d.Path, nil); err == nil {
		t.Error("second OpenDisk of the same disk succeeded (O_EXCL)")
	}
	t.Logf("member stats: %+v", m.Stats().Write)
}

// guestHotplug deletes a disk (as a pull does) and rescans its host.
func guestHotplug(t *testing.T, s *sata.Scanner, d sata.Disk) {
	src, err := sata.OpenUevents()
	if err != nil {
		t.Fatal(err)
	}
	w, err := sata.NewWatcher(s, src, &sata.WatchOptions{Debounce: 200 * time.Millisecond, Rescan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan sata.Event, 20)
	go w.Run(ctx, func(e sata.Event) { events <- e })
	next := func(kind sata.EventKind, cause string) sata.Event {
		t.Helper()
		start := time.Now()
		for {
			select {
			case e := <-events:
				t.Logf("%v: event %v %s %s %s (%s)", time.Since(start), e.Kind, e.Bay, e.Disk.Name, e.Disk.Serial, e.Cause)
				if e.Bay == d.Bay && e.Kind == kind && (cause == "" || e.Cause == cause) {
					return e
				}
			case <-time.After(40 * time.Second):
				now, err := s.Scan()
				t.Fatalf("no %v event for %s; sysfs now: %+v, %v", kind, d.Bay, now, err)
			}
		}
	}
	next(sata.Added, "start")
	sysDev := filepath.Join("/sys", d.DevPath, "device")
	var host string
	for p := d.DevPath; p != "/"; p = filepath.Dir(p) {
		if strings.HasPrefix(filepath.Base(p), "host") {
			host = filepath.Join("/sys", p)
			break
		}
	}
	if err := os.WriteFile(filepath.Join(sysDev, "delete"), []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	e := next(sata.Removed, "uevent")
	if e.Disk.Serial != d.Serial || e.Disk.Name != d.Name {
		t.Errorf("removed = %+v, want %s", e.Disk, d.Serial)
	}
	scan := filepath.Join(host, "scsi_host", filepath.Base(host), "scan")
	if err := os.WriteFile(scan, []byte("- - -"), 0); err != nil {
		t.Fatal(err)
	}
	e = next(sata.Added, "debounced")
	if e.Disk.Serial != d.Serial {
		t.Errorf("re-added = %+v, want %s", e.Disk, d.Serial)
	}
}
