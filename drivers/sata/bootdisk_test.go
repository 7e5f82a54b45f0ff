package sata

import (
	"strings"
	"testing"
)

func TestParseMounts(t *testing.T) {
	m := parseMounts([]string{
		"22 1 8:2 / / ro,relatime shared:1 - squashfs /dev/root ro",
		"25 22 8:4 / /perm rw,relatime shared:4 - ext4 /dev/sda4 rw",
		"26 22 8:33 / /mnt/my\\040disk rw - ext4 /dev/sdc1 rw",
		"27 22 0:5 / /dev rw - devtmpfs devtmpfs rw",
		"garbage",
	}, "console=ttyS0 root=PARTUUID=abc/PARTNROFF=1 rootwait", []string{
		"Filename Type Size Used Priority", "/dev/sdd2 partition 1048572 0 -2"})
	for dev, want := range map[string]bool{"8:2": true, "8:4": true, "8:33": false, "0:5": false} {
		if m.system[dev] != want {
			t.Errorf("system[%s] = %v, want %v", dev, m.system[dev], want)
		}
	}
	if !m.mounted["8:33"] || !m.mounted["name:sdd2"] || m.mounted["0:5"] || m.root != "PARTUUID=abc/PARTNROFF=1" {
		t.Errorf("parseMounts = %+v", m)
	}
}

func FuzzParseMounts(f *testing.F) {
	f.Add("22 1 8:2 / / ro,relatime shared:1 - squashfs /dev/root ro\n25 22 8:4 / /perm rw - ext4 /dev/sda4 rw", "root=/dev/sda2", "/dev/sdb1 partition 1 0 -2")
	f.Fuzz(func(t *testing.T, mountinfo, cmdline, swaps string) {
		m := parseMounts(strings.Split(mountinfo, "\n"), cmdline, strings.Split(swaps, "\n"))
		for dev := range m.system {
			if !m.mounted[dev] {
				t.Fatalf("%s is a system mount but not mounted", dev)
			}
		}
	})
}
