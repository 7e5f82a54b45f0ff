package diskmgr

import (
	"path/filepath"
	"testing"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

// ataMember is a file member with an ATA answered by a simulated disk.
type ataMember struct {
	*raid.File
	ata *sata.ATA
}

func (m ataMember) ATA() *sata.ATA { return m.ata }

func TestATAHealth(t *testing.T) {
	reallocated := []satatest.Attr{{ID: 5, Flags: 0x33, Value: 100, Worst: 100, Threshold: 36, Raw: 8}}
	for _, a := range satatest.QEMUAttrs {
		if a.ID != 5 {
			reallocated = append(reallocated, a)
		}
	}
	tests := []struct {
		name string
		disk *satatest.Disk
		want sata.Health
	}{
		{"healthy", &satatest.Disk{Attrs: satatest.QEMUAttrs}, sata.HealthPassed},
		{"reallocated sectors", &satatest.Disk{Attrs: reallocated}, sata.HealthWarning},
		{"threshold exceeded", &satatest.Disk{Attrs: satatest.QEMUAttrs, Failing: true}, sata.HealthFailing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "sda")
			newFile(t, p)
			f, err := raid.OpenFile(p, false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a, err := sata.OpenATA(p, &sata.Options{Transport: tt.disk})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			got, err := ataHealth(p, ataMember{f, a})
			if err != nil || got != tt.want {
				t.Errorf("ataHealth = %s, %v, want %s", got, err, tt.want)
			}
		})
	}
	if got, err := ataHealth("file", raid.Member(nil)); got != sata.HealthUnknown || err != nil {
		t.Errorf("ataHealth(no ATA) = %s, %v, want unknown", got, err)
	}
}
