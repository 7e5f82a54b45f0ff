package sata_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

// readHexPage reads a page saved as hex bytes (testdata/capture).
func readHexPage(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/capture/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil || len(p) != 512 {
		tb.Fatalf("%s: %v, %d bytes", name, err, len(p))
	}
	return p
}

func capturedIdentify(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/capture/qemu72-identify-PVSATA-1.txt")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := sata.ParseIDFile(b)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// The builders in satatest reproduce what QEMU 7.2 answered, byte for byte.
func TestQEMUCaptures(t *testing.T) {
	if got := satatest.QEMUIdentify("PVSATA-1", 131072); !bytes.Equal(got, capturedIdentify(t)) {
		t.Errorf("QEMUIdentify differs from the capture:\n%s", sata.FormatIDFile(got))
	}
	data, thresh := satatest.SMARTPages(satatest.QEMUAttrs, 0)
	if !bytes.Equal(data, readHexPage(t, "qemu72-smart-data.txt")) || !bytes.Equal(thresh, readHexPage(t, "qemu72-smart-thresholds.txt")) {
		t.Error("SMARTPages(QEMUAttrs) differs from the capture")
	}
	id, err := sata.DecodeIdentify(capturedIdentify(t))
	if err != nil || id.Serial != "PVSATA-1" || id.Size() != 64<<20 || !id.TRIM || id.SCTSupported {
		t.Errorf("DecodeIdentify(capture) = %+v, %v", id, err)
	}
	s, err := sata.DecodeSMART(readHexPage(t, "qemu72-smart-data.txt"), readHexPage(t, "qemu72-smart-thresholds.txt"))
	if temp, _ := s.Temperature(); err != nil || temp != 31 || !s.ChecksumOK || s.ShortTestTime.Minutes() != 2 {
		t.Errorf("DecodeSMART(capture) = %+v, %v", s, err)
	}
}
