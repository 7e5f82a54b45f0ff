package sata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Disk is one SATA disk as the kernel sees it.
type Disk struct {
	Bay        string `json:"bay"`        // "0000:00:1f.2/ata3", see the package comment
	Controller string `json:"controller"` // "0000:00:1f.2"
	Port       int    `json:"port"`       // the kernel's ATA port number (ataN)
	LocalPort  int    `json:"local_port"` // 1-based port number on the controller
	Name       string `json:"name"`       // "sda"
	Path       string `json:"path"`       // "/dev/sda"
	// DevPath is the disk's sysfs path below the sysfs root, as uevents
	// name it: "/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sda".
	DevPath string `json:"devpath"`
	Major   int    `json:"major"`
	Minor   int    `json:"minor"`

	Model    string `json:"model"`
	Serial   string `json:"serial"`
	Firmware string `json:"firmware"`
	WWN      string `json:"wwn,omitempty"` // "naa.50014ee2b5c0ffee"
	// Size is the capacity in bytes; sector sizes are the kernel's queue
	// limits.
	Size               int64 `json:"size"`
	LogicalSectorSize  int   `json:"logical_sector_size"`
	PhysicalSectorSize int   `json:"physical_sector_size"`
	Rotational         bool  `json:"rotational"`
	RotationRate       int   `json:"rotation_rate,omitempty"` // rpm; 1 solid state; 0 unknown

	// Boot is set for the disk that holds the running system (a partition
	// of it is mounted, or the kernel command line's root= names it). It is
	// never offered as a RAID member.
	Boot bool `json:"boot"`
	// InUse is set for the boot disk and for a disk with a mounted
	// partition or a kernel holder (md, device mapper).
	InUse      bool     `json:"in_use"`
	Partitions []string `json:"partitions,omitempty"`

	// Identity is the disk's IDENTIFY DEVICE data as libata cached it at
	// probe time (ata_device/devN.M/id), nil if sysfs has none.
	Identity *Identity `json:"identity,omitempty"`
}

// ScanOptions configure a Scanner; zero values are the running system's.
type ScanOptions struct {
	Sysfs string // sysfs root; "" is /sys
	Proc  string // procfs root, for mountinfo and cmdline; "" is /proc
	Dev   string // device nodes; "" is /dev
}

// Scanner lists the SATA disks under a sysfs root. Discovery reads only
// files; it sends no command to any disk.
type Scanner struct {
	sysfs, proc, dev string
}

// NewScanner returns a Scanner for o (nil: the running system).
func NewScanner(o *ScanOptions) (*Scanner, error) {
	s := &Scanner{sysfs: "/sys", proc: "/proc", dev: "/dev"}
	if o != nil {
		if o.Sysfs != "" {
			s.sysfs = o.Sysfs
		}
		if o.Proc != "" {
			s.proc = o.Proc
		}
		if o.Dev != "" {
			s.dev = o.Dev
		}
	}
	root, err := filepath.EvalSymlinks(s.sysfs)
	if err != nil {
		return nil, fmt.Errorf("sata: sysfs root: %w", err)
	}
	s.sysfs = root
	return s, nil
}

var (
	ataRe  = regexp.MustCompile(`^ata([0-9]+)$`)
	scsiRe = regexp.MustCompile(`^([0-9]+):([0-9]+):([0-9]+):([0-9]+)$`)
)

// Scan returns every SATA disk, ordered by bay key (controller, then port).
// A sysfs without block devices gives an empty list.
func (s *Scanner) Scan() ([]Disk, error) {
	dir := filepath.Join(s.sysfs, "class", "block")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		dir = filepath.Join(s.sysfs, "block")
		ents, err = os.ReadDir(dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sata: %w", err)
	}
	boot := s.bootDevices()
	var disks []Disk
	for _, e := range ents {
		d, ok, err := s.disk(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		d.Boot = boot.boot(s, &d)
		d.InUse = d.Boot || boot.inUse(s, &d) || s.held(&d)
		disks = append(disks, d)
	}
	sort.Slice(disks, func(i, j int) bool {
		a, b := disks[i], disks[j]
		if a.Controller != b.Controller {
			return a.Controller < b.Controller
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Bay < b.Bay
	})
	return disks, nil
}

// disk reads one /sys/class/block entry; ok is false for partitions, for
// block devices not behind an ATA port (loop, virtio, NVMe, USB) and for
// ATAPI drives (sr0).
func (s *Scanner) disk(link string) (d Disk, ok bool, err error) {
	real, err := filepath.EvalSymlinks(link)
	if err != nil {
		return d, false, nil // vanished while scanning
	}
	if exists(filepath.Join(real, "partition")) {
		return d, false, nil
	}
	rel, err := filepath.Rel(s.sysfs, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return d, false, nil
	}
	d.DevPath = "/" + filepath.ToSlash(rel)
	if !s.placeBay(&d) {
		return d, false, nil
	}
	if t := readAttr(real, "device/type"); t != "" && t != "0" {
		return d, false, nil // SCSI peripheral type 5: an ATAPI CD/DVD drive
	}
	d.Name = filepath.Base(real)
	d.Path = filepath.Join(s.dev, d.Name)
	fmt.Sscanf(readAttr(real, "dev"), "%d:%d", &d.Major, &d.Minor)
	sectors, _ := strconv.ParseInt(readAttr(real, "size"), 10, 64)
	d.Size = sectors * 512
	d.LogicalSectorSize, _ = strconv.Atoi(readAttr(real, "queue/logical_block_size"))
	d.PhysicalSectorSize, _ = strconv.Atoi(readAttr(real, "queue/physical_block_size"))
	d.Rotational = readAttr(real, "queue/rotational") == "1"
	s.identify(&d, real)
	parts, _ := os.ReadDir(real)
	for _, p := range parts {
		if exists(filepath.Join(real, p.Name(), "partition")) {
			d.Partitions = append(d.Partitions, p.Name())
		}
	}
	return d, true, nil
}

// placeBay sets d's controller, port and bay key from its devpath:
// .../<controller>/ataK/hostH/targetH:C:T/H:C:T:L/block/sdX.
func (s *Scanner) placeBay(d *Disk) bool {
	parts := strings.Split(d.DevPath, "/")
	for i := 1; i < len(parts); i++ {
		m := ataRe.FindStringSubmatch(parts[i])
		if m == nil {
			continue
		}
		d.Controller = parts[i-1]
		k, _ := strconv.Atoi(m[1])
		d.Port = k
		portDir := filepath.Join(s.sysfs, filepath.FromSlash(strings.Join(parts[:i+1], "/")), "ata_port", parts[i])
		if n, err := strconv.Atoi(readAttr(portDir, "port_no")); err == nil && n > 0 {
			d.LocalPort = n
		}
		d.Bay = fmt.Sprintf("%s/ata%d", d.Controller, d.Port)
		for _, p := range parts[i+1:] {
			if sm := scsiRe.FindStringSubmatch(p); sm != nil {
				if pmp, _ := strconv.Atoi(readAttr(portDir, "nr_pmp_links")); pmp > 0 {
					d.Bay += "." + sm[2]
				}
				break
			}
		}
		return true
	}
	return false
}

// identify fills the identity fields from libata's cached IDENTIFY data,
// falling back to what the SCSI translation shows (a 16-character model,
// a 4-character firmware revision, the serial from VPD page 0x80).
func (s *Scanner) identify(d *Disk, blockDir string) {
	dev := filepath.Join(blockDir, "device")
	d.Model = readAttr(dev, "model")
	d.Firmware = readAttr(dev, "rev")
	if w := readAttr(dev, "wwid"); strings.HasPrefix(w, "naa.") {
		d.WWN = w
	}
	if pg, err := os.ReadFile(filepath.Join(dev, "vpd_pg80")); err == nil && len(pg) > 4 {
		d.Serial = printable(strings.TrimSpace(string(pg[4:min(len(pg), 4+int(pg[3]))])))
	}
	if id := s.ataIdentity(d.DevPath); id != nil {
		d.Identity = id
		d.Model, d.Serial, d.Firmware = id.Model, id.Serial, id.Firmware
		if id.WWN != 0 {
			d.WWN = id.WWNString()
		}
		d.RotationRate = id.RotationRate
	}
}

// ataIdentity reads .../ataK/linkK[.C]/devK.T[.0]/ata_device/devK.../id.
func (s *Scanner) ataIdentity(devpath string) *Identity {
	parts := strings.Split(devpath, "/")
	var port string
	var base []string
	for i, p := range parts {
		if m := ataRe.FindStringSubmatch(p); m != nil {
			port, base = m[1], parts[:i+1]
			continue
		}
		if sm := scsiRe.FindStringSubmatch(p); sm != nil && port != "" {
			portDir := filepath.Join(s.sysfs, filepath.FromSlash(strings.Join(base, "/")))
			var link, dev string
			if pmp, _ := strconv.Atoi(readAttr(filepath.Join(portDir, "ata_port", "ata"+port), "nr_pmp_links")); pmp > 0 {
				link, dev = "link"+port+"."+sm[2], "dev"+port+"."+sm[2]+".0"
			} else {
				link, dev = "link"+port, "dev"+port+"."+sm[3]
			}
			b, err := os.ReadFile(filepath.Join(portDir, link, dev, "ata_device", dev, "id"))
			if err != nil {
				return nil
			}
			page, err := ParseIDFile(b)
			if err != nil {
				return nil
			}
			id, err := DecodeIdentify(page)
			if err != nil {
				return nil
			}
			return id
		}
	}
	return nil
}

// ParseIDFile converts libata's sysfs "id" attribute (256 IDENTIFY words as
// 4-digit hex numbers, 8 per line) into the 512-byte little-endian page.
func ParseIDFile(b []byte) ([]byte, error) {
	f := strings.Fields(string(b))
	if len(f) != 256 {
		return nil, fmt.Errorf("sata: id file has %d words, want 256", len(f))
	}
	p := make([]byte, 512)
	for i, w := range f {
		v, err := strconv.ParseUint(w, 16, 16)
		if err != nil || len(w) != 4 {
			return nil, fmt.Errorf("sata: id file word %d: %q", i, w)
		}
		p[2*i], p[2*i+1] = byte(v), byte(v>>8)
	}
	return p, nil
}

// FormatIDFile is the inverse of ParseIDFile, as the kernel prints it.
func FormatIDFile(page []byte) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(page) && i < 512; i += 2 {
		sep := byte(' ')
		if (i/2+1)%8 == 0 {
			sep = '\n'
		}
		fmt.Fprintf(&b, "%04x%c", uint16(page[i])|uint16(page[i+1])<<8, sep)
	}
	return b.Bytes()
}

func readAttr(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// readLines returns the lines of a small file (nil if absent).
func readLines(p string) []string {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
