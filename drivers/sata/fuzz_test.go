package sata_test

import (
	"testing"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

func FuzzDecodeIdentify(f *testing.F) {
	f.Add(capturedIdentify(f))
	f.Add(satatest.QEMUIdentify("QM00005", 2097152))
	f.Add(wd.Identify())
	f.Add(satatest.Drive{Model: "Samsung SSD 870 EVO 1TB", Serial: "S6PTNX0T123456A", Firmware: "SVT02B6Q",
		Sectors: 1953525168, WWN: 0x5002538f42b1c0de, RotationRate: 1, LogicalSize: 4096, Checksum: true}.Identify())
	f.Add(make([]byte, 512))
	f.Fuzz(func(t *testing.T, p []byte) {
		id, err := sata.DecodeIdentify(p)
		if err != nil {
			return
		}
		for _, s := range []string{id.Model, id.Serial, id.Firmware} {
			for _, c := range []byte(s) {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("non-printable %q in %+v", s, id)
				}
			}
		}
		if id.LogicalSectorSize < 512 || id.PhysicalSectorSize < id.LogicalSectorSize {
			t.Fatalf("sector sizes %d/%d", id.LogicalSectorSize, id.PhysicalSectorSize)
		}
	})
}

func FuzzDecodeSMART(f *testing.F) {
	f.Add(readHexPage(f, "qemu72-smart-data.txt"), readHexPage(f, "qemu72-smart-thresholds.txt"))
	d, th := satatest.SMARTPages(satatest.QEMUAttrs, 0)
	f.Add(d, th)
	d, th = satatest.SMARTPages([]satatest.Attr{{ID: 5, Flags: 0x33, Value: 1, Worst: 1, Threshold: 10, Raw: 1 << 40}}, 0xf9)
	f.Add(d, th)
	f.Add(make([]byte, 512), []byte(nil))
	f.Fuzz(func(t *testing.T, data, thresh []byte) {
		s, err := sata.DecodeSMART(data, thresh)
		if err != nil {
			return
		}
		if len(s.Attributes) > 30 {
			t.Fatalf("%d attributes", len(s.Attributes))
		}
		for _, a := range s.Attributes {
			if a.Raw >= 1<<48 {
				t.Fatalf("raw %#x beyond 48 bits", a.Raw)
			}
		}
		s.Temperature()
		sata.Assess(true, s)
	})
}

func FuzzDecodeLogs(f *testing.F) {
	f.Add(satatest.SelfTestLogPage([4]uint32{1, 0, 0x1234, 0}))
	f.Add(satatest.ErrorLogPage(3, 10, 1, 2, 3, 4, 5, 6))
	f.Fuzz(func(t *testing.T, p []byte) {
		if l, err := sata.DecodeSelfTestLog(p); err == nil && len(l.Entries) > 21 {
			t.Fatalf("%d self-test entries", len(l.Entries))
		}
		if l, err := sata.DecodeErrorLog(p); err == nil && len(l.Entries) > 5 {
			t.Fatalf("%d error entries", len(l.Entries))
		}
	})
}
