package sata_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

// openFake opens an ATA on a temporary file with t as the transport: the
// file only provides a descriptor.
func openFake(tb testing.TB, t sata.Transport) *sata.ATA {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "sdx")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	a, err := sata.OpenATA(p, &sata.Options{Transport: t, Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

func closePlayback(t *testing.T, p *satatest.Playback) {
	t.Helper()
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

var wd = satatest.Drive{
	Model: "WDC WD40EFRX-68N32N0", Serial: "WD-WCC7K4XXXXXX", Firmware: "82.00A82",
	Sectors: 7814037168, WWN: 0x50014ee2b5c0ffee, PhysicalExp: 3, RotationRate: 5400,
	SCTERC: true, Checksum: true,
}

func TestIdentifyTranscript(t *testing.T) {
	pb := &satatest.Playback{Ops: []satatest.Op{satatest.Identify(wd.Identify())}}
	defer closePlayback(t, pb)
	id, err := openFake(t, pb).Identify()
	if err != nil {
		t.Fatal(err)
	}
	if id.Model != wd.Model || id.Serial != wd.Serial || id.Firmware != wd.Firmware {
		t.Errorf("Identify() = %q %q %q, want %q %q %q", id.Model, id.Serial, id.Firmware, wd.Model, wd.Serial, wd.Firmware)
	}
	if id.Size() != 4000787030016 || id.PhysicalSectorSize != 4096 || id.LogicalSectorSize != 512 {
		t.Errorf("size %d, sectors %d/%d; want 4000787030016, 512/4096", id.Size(), id.LogicalSectorSize, id.PhysicalSectorSize)
	}
	if id.WWNString() != "naa.50014ee2b5c0ffee" || !id.SCTERCSupported || id.RotationRate != 5400 || !id.Checksummed {
		t.Errorf("wwn %q erc %v rpm %d checksummed %v", id.WWNString(), id.SCTERCSupported, id.RotationRate, id.Checksummed)
	}
}

func TestIdentityJSON(t *testing.T) {
	id, _ := sata.DecodeIdentify(wd.Identify())
	b, err := json.Marshal(id)
	if err != nil || !strings.Contains(string(b), `"wwn":"naa.50014ee2b5c0ffee"`) {
		t.Fatalf("json.Marshal(identity) = %s, %v", b, err)
	}
	var back sata.Identity
	if err := json.Unmarshal(b, &back); err != nil || back != *id {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"wwn":"naa.12"}`), &back); err == nil {
		t.Error("Unmarshal of a short WWN succeeded")
	}
}

func TestQEMUIdentify(t *testing.T) {
	id, err := sata.DecodeIdentify(satatest.QEMUIdentify("pv-disk-2", 2<<20))
	if err != nil {
		t.Fatal(err)
	}
	want := sata.Identity{Model: "QEMU HARDDISK", Serial: "pv-disk-2", Firmware: "2.5+", Sectors: 2 << 20,
		LogicalSectorSize: 512, PhysicalSectorSize: 512, LBA48: true, SMARTSupported: true,
		SMARTEnabled: true, WriteCache: true, NCQ: true, TRIM: true, MajorVersion: 7}
	if *id != want {
		t.Errorf("DecodeIdentify(QEMU) =\n%+v, want\n%+v", *id, want)
	}
}

func TestIdentifyRejects(t *testing.T) {
	bad := wd.Identify()
	bad[100] ^= 1 // checksum no longer matches
	atapi := make([]byte, 512)
	atapi[1] = 0x85
	for _, tc := range []struct {
		name string
		page []byte
	}{{"short", make([]byte, 511)}, {"checksum", bad}, {"atapi", atapi}} {
		if _, err := sata.DecodeIdentify(tc.page); err == nil {
			t.Errorf("DecodeIdentify(%s) = nil error", tc.name)
		}
	}
}

func TestSMARTStatus(t *testing.T) {
	fixed := satatest.SMARTStatus(true)
	fixed.Sense = satatest.FixedSense(1, 0, 0x1d, satatest.ATARegs{Status: 0x50, LBAMid: 0x4f, LBAHigh: 0xc2})
	failFixed := satatest.SMARTStatus(false)
	failFixed.Sense = satatest.FixedSense(1, 0, 0x1d, satatest.ATARegs{Status: 0x50, LBAMid: 0xf4, LBAHigh: 0x2c})
	for _, tc := range []struct {
		name string
		op   satatest.Op
		want bool
	}{
		{"descriptor passed", satatest.SMARTStatus(true), true},
		{"descriptor failing", satatest.SMARTStatus(false), false},
		{"fixed passed", fixed, true},
		{"fixed failing", failFixed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &satatest.Playback{Ops: []satatest.Op{tc.op}}
			defer closePlayback(t, pb)
			got, err := openFake(t, pb).SMARTStatus()
			if err != nil || got != tc.want {
				t.Errorf("SMARTStatus() = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestSMARTAttributes(t *testing.T) {
	attrs := []satatest.Attr{
		{ID: 5, Flags: 0x33, Value: 100, Worst: 100, Threshold: 10, Raw: 8},
		{ID: 9, Flags: 0x32, Value: 60, Worst: 60, Raw: 35012},
		{ID: 194, Flags: 0x22, Value: 115, Worst: 98, Raw: 0x0032001e0025}, // 37 C, min 30, max 50
		{ID: 197, Flags: 0x32, Value: 200, Worst: 200, Raw: 2},
		{ID: 198, Flags: 0x30, Value: 100, Worst: 253, Raw: 1},
		{ID: 199, Flags: 0x32, Value: 200, Worst: 200, Raw: 3},
		{ID: 1, Flags: 0x2f, Value: 20, Worst: 20, Threshold: 51},
	}
	data, thr := satatest.SMARTPages(attrs, 0x00)
	pb := &satatest.Playback{Ops: []satatest.Op{satatest.SMARTReadData(data), satatest.SMARTReadThresholds(thr)}}
	defer closePlayback(t, pb)
	s, err := openFake(t, pb).SMART()
	if err != nil {
		t.Fatal(err)
	}
	temp, _ := s.Temperature()
	hours, _ := s.PowerOnHours()
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"Reallocated", s.Reallocated(), 8}, {"Pending", s.Pending(), 2},
		{"Uncorrectable", s.Uncorrectable(), 1}, {"CRCErrors", s.CRCErrors(), 3},
		{"Temperature", uint64(temp), 37}, {"PowerOnHours", hours, 35012},
		{"attributes", uint64(len(s.Attributes)), 7},
	} {
		if c.got != c.want {
			t.Errorf("%s() = %d, want %d", c.name, c.got, c.want)
		}
	}
	if a, _ := s.Attribute(1); a.State != "failing" || !a.Prefailure() {
		t.Errorf("attribute 1 state %q prefailure %v, want failing", a.State, a.Prefailure())
	}
	if h := sata.Assess(true, s); h != sata.HealthFailing {
		t.Errorf("Assess = %v, want failing (attribute 1 below threshold)", h)
	}
	if !s.ChecksumOK || !s.SelfTestSupported || s.ExtendedTestTime != 54*time.Minute {
		t.Errorf("checksum %v selftest %v ext %v", s.ChecksumOK, s.SelfTestSupported, s.ExtendedTestTime)
	}
}

func TestAssess(t *testing.T) {
	mk := func(attrs ...satatest.Attr) *sata.SMARTData {
		d, th := satatest.SMARTPages(attrs, 0)
		s, err := sata.DecodeSMART(d, th)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		passed bool
		s      *sata.SMARTData
		want   sata.Health
	}{
		{"qemu", true, mk(satatest.QEMUAttrs...), sata.HealthPassed},
		{"status failing", false, mk(satatest.QEMUAttrs...), sata.HealthFailing},
		{"pending sectors", true, mk(satatest.Attr{ID: 197, Value: 200, Worst: 200, Raw: 4}), sata.HealthWarning},
		{"failed in the past", true, mk(satatest.Attr{ID: 3, Flags: 3, Value: 90, Worst: 20, Threshold: 21}), sata.HealthWarning},
		{"old-age below threshold", true, mk(satatest.Attr{ID: 190, Flags: 2, Value: 40, Worst: 40, Threshold: 45}), sata.HealthWarning},
		{"no attributes", true, nil, sata.HealthPassed},
	} {
		if got := sata.Assess(tc.passed, tc.s); got != tc.want {
			t.Errorf("%s: Assess = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLogs(t *testing.T) {
	st := satatest.SelfTestLogPage([4]uint32{1, 0x00, 100, 0}, [4]uint32{2, 0x73, 180, 123456}, [4]uint32{1, 0xf3, 200, 0})
	el := satatest.ErrorLogPage(7, 179, 1000, 123456)
	pb := &satatest.Playback{Ops: []satatest.Op{satatest.SMARTReadLog(6, st), satatest.SMARTReadLog(1, el)}}
	defer closePlayback(t, pb)
	a := openFake(t, pb)
	tl, err := a.SelfTestLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Entries) != 3 {
		t.Fatalf("self-test log has %d entries, want 3", len(tl.Entries))
	}
	if e := tl.Entries[0]; e.Test != sata.SelfTestShort || e.Result != "in progress" || e.Remaining != 30 {
		t.Errorf("newest entry = %+v, want short, in progress, 30%% left", e)
	}
	if e := tl.Entries[1]; e.Test != sata.SelfTestExtended || e.Result != "read failure" || e.FailingLBA != 123456 || e.LifetimeHours != 180 {
		t.Errorf("second entry = %+v, want extended read failure at 123456, 180 h", e)
	}
	if !tl.Entries[2].Passed() {
		t.Errorf("oldest entry = %+v, want passed", tl.Entries[2])
	}
	l, err := a.ErrorLog()
	if err != nil {
		t.Fatal(err)
	}
	if l.Count != 7 || len(l.Entries) != 2 || l.Entries[0].LBA != 123456 || l.Entries[1].LBA != 1000 {
		t.Fatalf("ErrorLog() = %+v, want 7 errors, newest at LBA 123456", l)
	}
	e := l.Entries[0]
	if e.Error != 0x40 || e.LifetimeHours != 179 || len(e.Commands) != 1 || e.Commands[0].Command != 0xc8 {
		t.Errorf("entry = %+v, want UNC at 179 h after READ DMA", e)
	}
}

func TestSelfTestAndERC(t *testing.T) {
	erc := func(fn, sel, v uint16) []byte {
		b := make([]byte, 512)
		b[0], b[2], b[4], b[6], b[7] = 3, byte(fn), byte(sel), byte(v), byte(v>>8)
		return b
	}
	getRead := satatest.PIOOut(0xb0, 0xd6, 0xe0, 0x4f, 0xc2, erc(2, 1, 0), true)
	getRead.Status = 2
	getRead.Sense = satatest.DescriptorSense(1, 0, 0x1d, satatest.ATARegs{Status: 0x50, Count: 70})
	getWrite := getRead
	getWrite.Write = erc(2, 2, 0)
	pb := &satatest.Playback{Ops: []satatest.Op{
		satatest.SelfTest(1),
		satatest.SelfTest(2),
		satatest.PIOOut(0xb0, 0xd6, 0xe0, 0x4f, 0xc2, erc(1, 1, 70), false),
		satatest.PIOOut(0xb0, 0xd6, 0xe0, 0x4f, 0xc2, erc(1, 2, 70), false),
		getRead, getWrite,
	}}
	defer closePlayback(t, pb)
	a := openFake(t, pb)
	if err := a.StartSelfTest(sata.SelfTestShort); err != nil {
		t.Fatal(err)
	}
	if err := a.StartSelfTest(sata.SelfTestExtended); err != nil {
		t.Fatal(err)
	}
	id, _ := sata.DecodeIdentify(wd.Identify())
	if err := a.SetErrorRecovery(id, 7*time.Second, 7*time.Second); err != nil {
		t.Fatal(err)
	}
	r, w, err := a.ErrorRecovery(id)
	if err != nil || r != 7*time.Second || w != 7*time.Second {
		t.Errorf("ErrorRecovery() = %v, %v, %v; want 7s, 7s", r, w, err)
	}
	qemu, _ := sata.DecodeIdentify(satatest.QEMUIdentify("x", 100))
	if err := a.SetErrorRecovery(qemu, time.Second, time.Second); !errors.Is(err, sata.ErrUnsupported) {
		t.Errorf("SetErrorRecovery on QEMU = %v, want ErrUnsupported (and no command sent)", err)
	}
}

func TestCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   satatest.Op
		want error
	}{
		{"aborted", satatest.Aborted(satatest.SMARTReadLog(6, nil)), sata.ErrAborted},
		{"medium", satatest.MediumError(satatest.SMARTReadLog(6, nil)), sata.ErrMedium},
		{"gone", func() satatest.Op { o := satatest.SMARTReadLog(6, nil); o.HostStatus = 1; return o }(), sata.ErrGone},
		{"timeout", func() satatest.Op { o := satatest.SMARTReadLog(6, nil); o.DriverStatus = 6; return o }(), sata.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &satatest.Playback{Ops: []satatest.Op{tc.op}}
			defer closePlayback(t, pb)
			_, err := openFake(t, pb).SelfTestLog()
			if !errors.Is(err, tc.want) {
				t.Errorf("SelfTestLog() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPlaybackFailsOnMismatch(t *testing.T) {
	pb := &satatest.Playback{Ops: []satatest.Op{satatest.SMARTReadData(make([]byte, 512)), satatest.Identify(nil)}}
	if _, err := openFake(t, pb).Identify(); err == nil {
		t.Error("Identify() against a SMART READ DATA transcript succeeded")
	}
	if pb.Close() == nil {
		t.Error("Close() after a mismatch = nil")
	}
	pb = &satatest.Playback{Ops: []satatest.Op{satatest.Identify(wd.Identify()), satatest.Identify(wd.Identify())}}
	openFake(t, pb).Identify()
	if pb.Close() == nil {
		t.Error("Close() with an op left = nil")
	}
}

func TestSimulatedDiskRecord(t *testing.T) {
	d := &satatest.Disk{Drive: satatest.Drive{Serial: "pv-1", Sectors: 1 << 21}, QEMU: true, Attrs: satatest.QEMUAttrs, FixedSense: true}
	rec := &satatest.Record{Transport: d}
	a := openFake(t, rec)
	if err := a.StartSelfTest(sata.SelfTestShort); err != nil {
		t.Fatal(err)
	}
	ok, err := a.SMARTStatus()
	if err != nil || !ok {
		t.Fatalf("SMARTStatus() = %v, %v", ok, err)
	}
	l, err := a.SelfTestLog()
	if err != nil || len(l.Entries) != 1 || l.Entries[0].Test != sata.SelfTestShort || !l.Entries[0].Passed() {
		t.Fatalf("SelfTestLog() = %+v, %v; want one passed short test", l, err)
	}
	// The recorded session replays against a fresh ATA.
	pb := &satatest.Playback{Ops: rec.Ops}
	defer closePlayback(t, pb)
	b := openFake(t, pb)
	b.StartSelfTest(sata.SelfTestShort)
	b.SMARTStatus()
	b.SelfTestLog()
}
