package satatest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/postvault/postvault/drivers/sata"
)

// Tree writes a sysfs tree (and the procfs files discovery reads) into a
// folder, laid out as Linux 6.x/7.x lays out libata/AHCI devices:
//
//	sys/devices/pci0000:00/0000:00:1f.2/ata3/ata_port/ata3/{port_no,nr_pmp_links}
//	sys/devices/pci0000:00/0000:00:1f.2/ata3/link3/dev3.0/ata_device/dev3.0/{class,id}
//	sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/scsi_host/host2/proc_name
//	sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/{vendor,model,rev,wwid,vpd_pg80}
//	sys/devices/.../2:0:0:0/block/sda/{dev,size,queue/...,sda1/{partition,dev,size,start,uevent}}
//	sys/class/block/sda -> ../../devices/.../block/sda    (and sys/block/sda, sys/dev/block/8:0)
//	sys/class/ata_port/ata3 -> ../../devices/.../ata3/ata_port/ata3
//	proc/self/mountinfo, proc/cmdline
type Tree struct {
	Dir   string // the folder; Sys and Proc are below it
	Sys   string
	Proc  string
	mount []string
}

// NewTree makes an empty tree in dir.
func NewTree(dir string) (*Tree, error) {
	t := &Tree{Dir: dir, Sys: filepath.Join(dir, "sys"), Proc: filepath.Join(dir, "proc")}
	for _, d := range []string{"class/block", "block", "dev/block", "class/ata_port", "class/scsi_host", "devices/virtual/block"} {
		if err := os.MkdirAll(filepath.Join(t.Sys, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(t.Proc, "self"), 0o755); err != nil {
		return nil, err
	}
	return t, t.write("../proc/self/mountinfo", "")
}

// ScanOptions points sata at the tree.
func (t *Tree) ScanOptions() *sata.ScanOptions {
	return &sata.ScanOptions{Sysfs: t.Sys, Proc: t.Proc, Dev: "/dev"}
}

// write writes a sysfs attribute (path relative to Sys), making folders.
func (t *Tree) write(rel, content string) error {
	p := filepath.Join(t.Sys, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

// link makes the symlink Sys/rel pointing at Sys/target, relatively.
func (t *Tree) link(rel, target string) error {
	from := filepath.Join(t.Sys, filepath.FromSlash(rel))
	to, err := filepath.Rel(filepath.Dir(from), filepath.Join(t.Sys, filepath.FromSlash(target)))
	if err != nil {
		return err
	}
	os.Remove(from)
	if err := os.MkdirAll(filepath.Dir(from), 0o755); err != nil {
		return err
	}
	return os.Symlink(to, from)
}

// Controller is an AHCI controller in a Tree.
type Controller struct {
	Path      string // below Sys/devices, e.g. "pci0000:00/0000:00:1f.2"
	FirstPort int    // the kernel's ataK of its first port
	Ports     int
	FirstHost int // SCSI host number of its first port
}

// AddController writes the controller and its (empty) ports.
func (t *Tree) AddController(c Controller) error {
	dir := "devices/" + c.Path
	if err := t.write(dir+"/uevent", "DRIVER=ahci\nPCI_CLASS=10601\nPCI_SLOT_NAME="+filepath.Base(c.Path)+"\n"); err != nil {
		return err
	}
	for i := 0; i < c.Ports; i++ {
		k, h := c.FirstPort+i, c.FirstHost+i
		ata := fmt.Sprintf("%s/ata%d", dir, k)
		files := map[string]string{
			fmt.Sprintf("ata_port/ata%d/port_no", k):                        fmt.Sprint(i + 1),
			fmt.Sprintf("ata_port/ata%d/nr_pmp_links", k):                   "0",
			fmt.Sprintf("ata_port/ata%d/idle_irq", k):                       "0",
			fmt.Sprintf("link%d/ata_link/link%d/sata_spd", k, k):            "<unknown>",
			fmt.Sprintf("link%d/dev%d.0/ata_device/dev%d.0/class", k, k, k): "none",
			fmt.Sprintf("link%d/dev%d.1/ata_device/dev%d.1/class", k, k, k): "none",
			fmt.Sprintf("host%d/scsi_host/host%d/proc_name", h, h):          "ahci",
			fmt.Sprintf("host%d/scsi_host/host%d/em_message_type", h, h):    "0",
		}
		for f, v := range files {
			if err := t.write(ata+"/"+f, v+"\n"); err != nil {
				return err
			}
		}
		if err := t.link(fmt.Sprintf("class/ata_port/ata%d", k), fmt.Sprintf("%s/ata_port/ata%d", ata, k)); err != nil {
			return err
		}
		if err := t.link(fmt.Sprintf("class/scsi_host/host%d", h), fmt.Sprintf("%s/host%d/scsi_host/host%d", ata, h, h)); err != nil {
			return err
		}
	}
	return nil
}

// TreeDisk is a disk on a port of a Controller.
type TreeDisk struct {
	Controller Controller
	Index      int    // port index on the controller, 0-based
	Name       string // "sda"
	Minor      int    // 0, 16, 32, ... (major is 8)
	Identify   []byte // IDENTIFY page; Drive.Identify or QEMUIdentify
	Physical   int    // physical block size; 0 is 512
	Rotational bool
	Parts      []Part
}

// Part is a partition of a TreeDisk.
type Part struct {
	Start, Sectors int64
	UUID           string
}

// AddDisk writes d and returns its devpath.
func (t *Tree) AddDisk(d TreeDisk) (string, error) {
	c := d.Controller
	k, h := c.FirstPort+d.Index, c.FirstHost+d.Index
	ata := fmt.Sprintf("devices/%s/ata%d", c.Path, k)
	sdev := fmt.Sprintf("%s/host%d/target%d:0:0/%d:0:0:0", ata, h, h, h)
	id, err := sata.DecodeIdentify(d.Identify)
	if err != nil {
		return "", err
	}
	model := id.Model
	if len(model) > 16 {
		model = model[:16]
	}
	fw := id.Firmware
	if len(fw) > 4 {
		fw = fw[len(fw)-4:]
	}
	wwid := id.WWNString()
	if wwid == "" {
		wwid = fmt.Sprintf("t10.ATA     %-40s%s", id.Model, id.Serial)
	}
	serial := fmt.Sprintf("%-20s", id.Serial)
	blk := sdev + "/block/" + d.Name
	phys := d.Physical
	if phys == 0 {
		phys = 512
	}
	rot := "0"
	if d.Rotational {
		rot = "1"
	}
	devno := fmt.Sprintf("8:%d", d.Minor)
	files := map[string]string{
		fmt.Sprintf("link%d/dev%d.0/ata_device/dev%d.0/class", k, k, k): "ata\n",
		fmt.Sprintf("link%d/dev%d.0/ata_device/dev%d.0/id", k, k, k):    string(sata.FormatIDFile(d.Identify)),
		fmt.Sprintf("link%d/ata_link/link%d/sata_spd", k, k):            "6.0 Gbps\n",
	}
	for f, v := range files {
		if err := t.write(ata+"/"+f, v); err != nil {
			return "", err
		}
	}
	files = map[string]string{
		sdev + "/vendor": "ATA     \n", sdev + "/model": fmt.Sprintf("%-16s\n", model),
		sdev + "/rev": fmt.Sprintf("%-4s\n", fw), sdev + "/wwid": wwid + "\n",
		sdev + "/vpd_pg80": "\x00\x80\x00\x14" + serial,
		sdev + "/state":    "running\n", sdev + "/type": "0\n", sdev + "/timeout": "30\n",
		blk + "/dev": devno + "\n", blk + "/size": fmt.Sprintf("%d\n", id.Size()/512),
		blk + "/removable": "0\n", blk + "/ro": "0\n",
		blk + "/uevent":                    fmt.Sprintf("MAJOR=8\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=disk\n", d.Minor, d.Name),
		blk + "/queue/logical_block_size":  fmt.Sprintf("%d\n", id.LogicalSectorSize),
		blk + "/queue/physical_block_size": fmt.Sprintf("%d\n", phys),
		blk + "/queue/rotational":          rot + "\n",
	}
	for i, p := range d.Parts {
		pn := fmt.Sprintf("%s%d", d.Name, i+1)
		pd := blk + "/" + pn
		ue := fmt.Sprintf("MAJOR=8\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=partition\nPARTN=%d\n", d.Minor+i+1, pn, i+1)
		if p.UUID != "" {
			ue += "PARTUUID=" + p.UUID + "\n"
		}
		files[pd+"/partition"] = fmt.Sprintf("%d\n", i+1)
		files[pd+"/dev"] = fmt.Sprintf("8:%d\n", d.Minor+i+1)
		files[pd+"/start"] = fmt.Sprintf("%d\n", p.Start)
		files[pd+"/size"] = fmt.Sprintf("%d\n", p.Sectors)
		files[pd+"/uevent"] = ue
	}
	for f, v := range files {
		if err := t.write(f, v); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Join(t.Sys, blk, "holders"), 0o755); err != nil {
		return "", err
	}
	links := [][2]string{{"class/block/" + d.Name, blk}, {"block/" + d.Name, blk},
		{"dev/block/" + devno, blk}, {blk + "/device", sdev}}
	for i := range d.Parts {
		pn := fmt.Sprintf("%s%d", d.Name, i+1)
		links = append(links, [2]string{"class/block/" + pn, blk + "/" + pn},
			[2]string{fmt.Sprintf("dev/block/8:%d", d.Minor+i+1), blk + "/" + pn})
	}
	for _, l := range links {
		if err := t.link(l[0], l[1]); err != nil {
			return "", err
		}
	}
	return "/" + blk, nil
}

// RemoveDisk deletes a disk as the kernel does when it is pulled: the SCSI
// device and its block devices go, the port stays.
func (t *Tree) RemoveDisk(name string) error {
	real, err := filepath.EvalSymlinks(filepath.Join(t.Sys, "class/block", name))
	if err != nil {
		return err
	}
	sdev := filepath.Dir(filepath.Dir(real))
	ents, _ := os.ReadDir(filepath.Join(t.Sys, "class/block"))
	for _, e := range ents {
		if e.Name() == name || strings.HasPrefix(e.Name(), name) && len(e.Name()) > len(name) && e.Name()[len(name)] >= '0' && e.Name()[len(name)] <= '9' {
			for _, d := range []string{"class/block", "block"} {
				os.Remove(filepath.Join(t.Sys, d, e.Name()))
			}
		}
	}
	devs, _ := os.ReadDir(filepath.Join(t.Sys, "dev/block"))
	for _, e := range devs {
		if l, err := os.Readlink(filepath.Join(t.Sys, "dev/block", e.Name())); err == nil && strings.Contains(l, "/block/"+name) {
			os.Remove(filepath.Join(t.Sys, "dev/block", e.Name()))
		}
	}
	return os.RemoveAll(filepath.Dir(sdev)) // the target folder
}

// AddCDROM writes an ATAPI DVD drive (QEMU's default "QEMU DVD-ROM" on a
// q35 machine) on port index of c, as block device srN (major 11).
func (t *Tree) AddCDROM(c Controller, index, n int) error {
	k, h := c.FirstPort+index, c.FirstHost+index
	ata := fmt.Sprintf("devices/%s/ata%d", c.Path, k)
	sdev := fmt.Sprintf("%s/host%d/target%d:0:0/%d:0:0:0", ata, h, h, h)
	name := fmt.Sprintf("sr%d", n)
	blk := sdev + "/block/" + name
	files := map[string]string{
		fmt.Sprintf("%s/link%d/dev%d.0/ata_device/dev%d.0/class", ata, k, k, k): "atapi\n",
		sdev + "/vendor": "QEMU    \n", sdev + "/model": "QEMU DVD-ROM    \n", sdev + "/rev": "2.5+\n",
		sdev + "/type": "5\n", blk + "/dev": fmt.Sprintf("11:%d\n", n), blk + "/size": "0\n",
		blk + "/removable": "1\n", blk + "/queue/logical_block_size": "2048\n",
	}
	for f, v := range files {
		if err := t.write(f, v); err != nil {
			return err
		}
	}
	for _, l := range [][2]string{{"class/block/" + name, blk}, {"block/" + name, blk}, {blk + "/device", sdev}} {
		if err := t.link(l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}

// AddVirtual writes a block device that is not behind an ATA port
// (loop, virtio, NVMe) at devices/<path>/block/<name>.
func (t *Tree) AddVirtual(path, name string, major, minor int, sectors int64) error {
	blk := fmt.Sprintf("devices/%s/block/%s", path, name)
	if err := t.write(blk+"/dev", fmt.Sprintf("%d:%d\n", major, minor)); err != nil {
		return err
	}
	if err := t.write(blk+"/size", fmt.Sprintf("%d\n", sectors)); err != nil {
		return err
	}
	if err := t.link("class/block/"+name, blk); err != nil {
		return err
	}
	return t.link("block/"+name, blk)
}

// Mount adds a line to proc/self/mountinfo.
func (t *Tree) Mount(devno, mountpoint, fstype, source string) error {
	t.mount = append(t.mount, fmt.Sprintf("%d 1 %s / %s rw,relatime shared:%d - %s %s rw",
		20+len(t.mount), devno, mountpoint, len(t.mount)+1, fstype, source))
	return t.write("../proc/self/mountinfo", strings.Join(t.mount, "\n")+"\n")
}

// Cmdline writes proc/cmdline.
func (t *Tree) Cmdline(s string) error { return t.write("../proc/cmdline", s+"\n") }
