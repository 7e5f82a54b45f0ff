package sata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Available reports whether d may be offered as a RAID member: not the boot
// disk, nothing of it mounted or held by the kernel.
func (d *Disk) Available() bool { return !d.Boot && !d.InUse }

// mounts is what /proc/self/mountinfo and /proc/cmdline say about block
// devices in use.
type mounts struct {
	system  map[string]bool // "major:minor" of /, /perm, /boot
	mounted map[string]bool // "major:minor" of every mounted device
	root    string          // root= of the kernel command line
}

// systemMounts are the mount points that make a disk the boot disk: the
// root file system and gokrazy's boot and /perm partitions.
var systemMounts = map[string]bool{"/": true, "/boot": true, "/perm": true, "/gokrazy": true}

// bootDevices reads /proc/self/mountinfo, /proc/cmdline and /proc/swaps.
func (s *Scanner) bootDevices() *mounts {
	cmdline, _ := os.ReadFile(filepath.Join(s.proc, "cmdline"))
	return parseMounts(readLines(filepath.Join(s.proc, "self", "mountinfo")), string(cmdline),
		readLines(filepath.Join(s.proc, "swaps")))
}

// parseMounts reads mountinfo lines ("ID PARENT MAJOR:MINOR ROOT MOUNTPOINT
// OPTIONS ... - FSTYPE SOURCE SUPEROPTIONS"), the kernel command line and
// the lines of /proc/swaps ("FILENAME TYPE SIZE USED PRIORITY").
func parseMounts(mountinfo []string, cmdline string, swaps []string) *mounts {
	m := &mounts{system: map[string]bool{}, mounted: map[string]bool{}}
	for _, l := range mountinfo {
		f := strings.Fields(l)
		if len(f) < 5 || strings.HasPrefix(f[2], "0:") || !strings.Contains(f[2], ":") {
			continue
		}
		m.mounted[f[2]] = true
		if systemMounts[unescapeMount(f[4])] {
			m.system[f[2]] = true
		}
	}
	for _, a := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(a, "root="); ok {
			m.root = v
		}
	}
	for _, l := range swaps {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "/dev/") {
			m.mounted["name:"+strings.TrimPrefix(f[0], "/dev/")] = true
		}
	}
	return m
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// devs calls fn with the dev number, name and sysfs dir of d and of each of
// its partitions.
func (s *Scanner) devs(d *Disk, fn func(dev, name, dir string) bool) bool {
	dir := filepath.Join(s.sysfs, filepath.FromSlash(d.DevPath))
	if fn(fmt.Sprintf("%d:%d", d.Major, d.Minor), d.Name, dir) {
		return true
	}
	for _, p := range d.Partitions {
		pd := filepath.Join(dir, p)
		if fn(readAttr(pd, "dev"), p, pd) {
			return true
		}
	}
	return false
}

func (m *mounts) boot(s *Scanner, d *Disk) bool {
	return s.devs(d, func(dev, name, dir string) bool {
		if m.system[dev] {
			return true
		}
		switch r := m.root; {
		case r == "":
		case r == "/dev/"+name:
			return true
		case strings.HasPrefix(r, "PARTUUID="):
			u, _, _ := strings.Cut(strings.TrimPrefix(r, "PARTUUID="), "/")
			return u != "" && strings.EqualFold(uevent(dir)["PARTUUID"], u)
		}
		return false
	})
}

func (m *mounts) inUse(s *Scanner, d *Disk) bool {
	return s.devs(d, func(dev, name, dir string) bool {
		return m.mounted[dev] || m.mounted["name:"+name]
	})
}

// held reports whether a kernel holder (md, dm) claims d or a partition.
func (s *Scanner) held(d *Disk) bool {
	return s.devs(d, func(dev, name, dir string) bool {
		h, _ := os.ReadDir(filepath.Join(dir, "holders"))
		return len(h) > 0
	})
}

// uevent reads a sysfs uevent file into a map.
func uevent(dir string) map[string]string {
	m := map[string]string{}
	for _, l := range readLines(filepath.Join(dir, "uevent")) {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}
