package ahciem_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"

	"github.com/postvault/postvault/hal/ahciem"
	"github.com/postvault/postvault/hal/haltest"
)

func TestPorts(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/ahci-em.tree")
	ports, err := ahciem.Ports(root)
	if err != nil {
		t.Fatal(err)
	}
	want := "[{host0 0000:00:17.0/ata1 true} {host1 0000:00:17.0/ata2 true} {host2 0000:00:17.0/ata3 true} " +
		"{host3 0000:00:17.0/ata4 true} {host8 0000:03:00.0/ata9 false} {host9 0000:03:00.0/ata10 false}]"
	if got := fmt.Sprint(ports); got != want {
		t.Errorf("Ports = %s, want %s", got, want)
	}
	if h, err := ahciem.HostOf(root, "0000:03:00.0/ata10"); err != nil || h != "host9" {
		t.Errorf("HostOf(ata10) = %q, %v, want host9", h, err)
	}
	if h, err := ahciem.HostOf(root, "0000:03:00.0/ata11"); err == nil {
		t.Errorf("HostOf(ata11) = %q, want an error", h)
	}
}

func TestPlatformPorts(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/platform-ahci.tree")
	ports, err := ahciem.Ports(root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ports), "[{host0 fe300000.sata/ata1 false} {host1 fe300000.sata/ata2 false}]"; got != want {
		t.Errorf("Ports = %s, want %s", got, want)
	}
}

func TestMessages(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/ahci-em.tree")
	file := filepath.Join(root, "class/scsi_host/host1/em_message")
	read := func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	p, err := ahciem.Open(root, "host1", 2)
	if err != nil {
		t.Fatal(err)
	}
	f, l := p.Fault(), p.Locate()
	steps := []struct {
		pin   gpio.PinOut
		level gpio.Level
		want  string
	}{
		{f, gpio.High, fmt.Sprint(0x00400000 | 2<<8)},
		{l, gpio.High, fmt.Sprint(0x00480000 | 2<<8)},
		{f, gpio.Low, fmt.Sprint(0x00080000 | 2<<8)},
		{l, gpio.Low, fmt.Sprint(2 << 8)},
	}
	for i, s := range steps {
		if err := s.pin.Out(s.level); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != s.want {
			t.Errorf("step %d: em_message = %s, want %s", i, got, s.want)
		}
	}
	// An unchanged message is not written again.
	os.WriteFile(file, []byte("sentinel"), 0o644)
	if err := l.Out(gpio.Low); err != nil || read() != "sentinel" {
		t.Errorf("unchanged message was written: %v, file %q", err, read())
	}
}

func TestOpenErrors(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/ahci-em.tree")
	os.WriteFile(filepath.Join(root, "class/scsi_host/host3/em_message_type"), []byte("8\n"), 0o644)
	tests := []struct {
		host string
		slot int
		want string
	}{
		{"host8", 0, "no enclosure management"},
		{"host3", 0, "no LED messages"},
		{"host0", 16, "out of range"},
		{"../host0", 0, "want hostN"},
	}
	for _, tt := range tests {
		_, err := ahciem.Open(root, tt.host, tt.slot)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s, %d) = %v, want error containing %q", tt.host, tt.slot, err, tt.want)
		}
	}
}
