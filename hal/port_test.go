package hal_test

import (
	"testing"

	"github.com/postvault/postvault/hal"
)

func TestCheckPort(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"0000:00:1f.2/ata3", true},
		{"0001:01:00.0/ata12", true},
		{"0000:00:1f.2/ata3.2", true},   // port-multiplier port
		{"fe300000.sata/ata1", true},    // platform AHCI
		{"0000:00:1f.2/ata3.16", false}, // PMP ports are 0-15
		{"0000:00:1f.2/ata3.02", false},
		{"0000:00:1F.2/ata3", false},
		{"0000:00:20.0/ata1", false},
		{"0000:00:1f.8/ata1", false},
		{"0000:0:1f.2/ata1", false},
		{"0000:00:1f.2/ata0", false},
		{"0000:00:1f.2/ata03", false},
		{"0000:00:1f.2/sda", false},
		{"0000:00:1f.2", false},
		{"../x/ata1", false},
		{"/ata1", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := hal.CheckPort(tt.key); (err == nil) != tt.ok {
			t.Errorf("CheckPort(%q) = %v, want ok %v", tt.key, err, tt.ok)
		}
	}
	if got := hal.PortKey("0000:00:1f.2", 3); got != "0000:00:1f.2/ata3" {
		t.Errorf("PortKey = %q", got)
	}
}
