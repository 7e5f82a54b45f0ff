package sata_test

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

var update = flag.Bool("update", false, "rewrite the sysfs trees under testdata/")

// The trees under testdata/ are reconstructed from the kernel's libata
// transport class, sd and block layer sysfs code and from QEMU 7.2's
// ide-hd: a q35 guest with gokrazy's boot disk on ata1 and four data disks,
// and a PC with an Intel and an ASMedia AHCI controller, an NVMe SSD and a
// USB stick. `go test ./drivers/sata -run TestTestdata -update` rewrites
// them.

var (
	ich9   = satatest.Controller{Path: "pci0000:00/0000:00:1f.2", FirstPort: 1, Ports: 6, FirstHost: 0}
	pch    = satatest.Controller{Path: "pci0000:00/0000:00:17.0", FirstPort: 1, Ports: 6, FirstHost: 0}
	asm106 = satatest.Controller{Path: "pci0000:00/0000:00:1c.4/0000:03:00.0", FirstPort: 7, Ports: 2, FirstHost: 6}
)

// gokrazyParts is gokrazy's layout on a 2 GiB boot disk.
var gokrazyParts = []satatest.Part{
	{Start: 8192, Sectors: 204800, UUID: "60c24cc1-f3f9-427a-8199-76baa2d60001"},
	{Start: 212992, Sectors: 1024000, UUID: "60c24cc1-f3f9-427a-8199-76baa2d60002"},
	{Start: 1236992, Sectors: 1024000, UUID: "60c24cc1-f3f9-427a-8199-76baa2d60003"},
	{Start: 2260992, Sectors: 1933312, UUID: "60c24cc1-f3f9-427a-8199-76baa2d60004"},
}

// qemuTree writes the q35 guest; names[i] is the device name of the disk on
// port i (letters vary from boot to boot).
func qemuTree(dir string, names []string) (*satatest.Tree, error) {
	t, err := satatest.NewTree(dir)
	if err != nil {
		return nil, err
	}
	if err := t.AddController(ich9); err != nil {
		return nil, err
	}
	serials := []string{"pv-boot", "pv-disk-1", "pv-disk-2", "pv-disk-3", "pv-disk-4"}
	sizes := []uint64{4194304, 2097152, 2097152, 2097152, 2097152}
	for i, name := range names {
		d := satatest.TreeDisk{Controller: ich9, Index: i, Name: name, Minor: 16 * int(name[2]-'a'),
			Identify: satatest.QEMUIdentify(serials[i], sizes[i]), Rotational: true}
		if i == 0 {
			d.Parts = gokrazyParts
			if err := t.Mount(sdDev(name, 2), "/", "squashfs", "/dev/root"); err != nil {
				return nil, err
			}
			if err := t.Mount(sdDev(name, 4), "/perm", "ext4", "/dev/"+name+"4"); err != nil {
				return nil, err
			}
		}
		if _, err := t.AddDisk(d); err != nil {
			return nil, err
		}
	}
	if err := t.AddVirtual("virtual", "loop0", 7, 0, 0); err != nil {
		return nil, err
	}
	if err := t.AddCDROM(ich9, 5, 0); err != nil {
		return nil, err
	}
	return t, t.Cmdline("console=ttyS0,115200 root=PARTUUID=60c24cc1-f3f9-427a-8199-76baa2d60001/PARTNROFF=1 rootwait panic=10 oops=panic init=/gokrazy/init")
}

func sdDev(name string, part int) string {
	return "8:" + itoa(16*int(name[2]-'a')+part)
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func pcTree(dir string) (*satatest.Tree, error) {
	t, err := satatest.NewTree(dir)
	if err != nil {
		return nil, err
	}
	for _, c := range []satatest.Controller{pch, asm106} {
		if err := t.AddController(c); err != nil {
			return nil, err
		}
	}
	disks := []satatest.TreeDisk{
		{Controller: pch, Index: 0, Name: "sda", Minor: 0, Parts: []satatest.Part{{Start: 2048, Sectors: 1048576}, {Start: 1050624, Sectors: 975720448}},
			Identify: satatest.Drive{Model: "Samsung SSD 870 EVO 500GB", Serial: "S62ANJ0R123456K", Firmware: "SVT02B6Q",
				Sectors: 976773168, WWN: 0x5002538f31a2b3c4, RotationRate: 1, SCTERC: true, Checksum: true}.Identify()},
		{Controller: pch, Index: 2, Name: "sdb", Minor: 16, Physical: 4096, Rotational: true,
			Identify: satatest.Drive{Model: "WDC WD40EFRX-68N32N0", Serial: "WD-WCC7K4XXXXXX", Firmware: "82.00A82",
				Sectors: 7814037168, WWN: 0x50014ee2b5c0ffee, PhysicalExp: 3, RotationRate: 5400, SCTERC: true, Checksum: true}.Identify()},
		{Controller: pch, Index: 3, Name: "sdc", Minor: 32, Physical: 4096, Rotational: true,
			Identify: satatest.Drive{Model: "ST8000VN004-2M2101", Serial: "WSD0ABCD", Firmware: "SC60",
				Sectors: 15628053168, WWN: 0x5000c500c1234567, PhysicalExp: 3, RotationRate: 7200, SCTERC: true, Checksum: true}.Identify()},
		{Controller: asm106, Index: 1, Name: "sdd", Minor: 48, Physical: 4096, Rotational: true, Parts: []satatest.Part{{Start: 2048, Sectors: 15628050000}},
			Identify: satatest.Drive{Model: "TOSHIBA HDWG480", Serial: "X0T0A0AAFBJG", Firmware: "0601",
				Sectors: 15628053168, WWN: 0x500003999b80a1b2, PhysicalExp: 3, RotationRate: 7200, Checksum: true}.Identify()},
	}
	for _, d := range disks {
		if _, err := t.AddDisk(d); err != nil {
			return nil, err
		}
	}
	for _, m := range [][4]string{{"8:2", "/", "ext4", "/dev/sda2"}, {"8:1", "/boot/efi", "vfat", "/dev/sda1"}, {"8:49", "/mnt/backup", "ext4", "/dev/sdd1"}} {
		if err := t.Mount(m[0], m[1], m[2], m[3]); err != nil {
			return nil, err
		}
	}
	if err := t.AddVirtual("pci0000:00/0000:00:1d.0/0000:04:00.0/nvme/nvme0", "nvme0n1", 259, 0, 1953525168); err != nil {
		return nil, err
	}
	if err := t.AddVirtual("pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host8/target8:0:0/8:0:0:0", "sde", 8, 64, 60555264); err != nil {
		return nil, err
	}
	return t, t.Cmdline("BOOT_IMAGE=/vmlinuz-6.12.0 root=UUID=0d7f7f1c-5b1e-4c8e-9a43-3c1f7e2a9b10 ro quiet")
}

func TestTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/")
	}
	for name, mk := range map[string]func(string) (*satatest.Tree, error){
		"qemu-q35": func(d string) (*satatest.Tree, error) {
			return qemuTree(d, []string{"sda", "sdb", "sdc", "sdd", "sde"})
		},
		"pc": pcTree,
	} {
		dir := filepath.Join("testdata", name)
		os.RemoveAll(dir)
		if _, err := mk(dir); err != nil {
			t.Fatal(err)
		}
	}
}

func scan(t *testing.T, o *sata.ScanOptions) []sata.Disk {
	t.Helper()
	s, err := sata.NewScanner(o)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := s.Scan()
	if err != nil {
		t.Fatal(err)
	}
	return disks
}

type summary struct {
	Bay, Name, Model, Serial, WWN string
	Size                          int64
	Phys                          int
	Rot, Boot, InUse              bool
}

func summarize(disks []sata.Disk) []summary {
	var out []summary
	for _, d := range disks {
		out = append(out, summary{d.Bay, d.Name, d.Model, d.Serial, d.WWN, d.Size, d.PhysicalSectorSize, d.Rotational, d.Boot, d.InUse})
	}
	return out
}

func TestScanQEMU(t *testing.T) {
	got := summarize(scan(t, &sata.ScanOptions{Sysfs: "testdata/qemu-q35/sys", Proc: "testdata/qemu-q35/proc"}))
	q := func(bay, name, serial string, size int64, boot bool) summary {
		return summary{bay, name, "QEMU HARDDISK", serial, "", size, 512, true, boot, boot}
	}
	want := []summary{
		q("0000:00:1f.2/ata1", "sda", "pv-boot", 2<<30, true),
		q("0000:00:1f.2/ata2", "sdb", "pv-disk-1", 1<<30, false),
		q("0000:00:1f.2/ata3", "sdc", "pv-disk-2", 1<<30, false),
		q("0000:00:1f.2/ata4", "sdd", "pv-disk-3", 1<<30, false),
		q("0000:00:1f.2/ata5", "sde", "pv-disk-4", 1<<30, false),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan(qemu-q35) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestScanPC(t *testing.T) {
	disks := scan(t, &sata.ScanOptions{Sysfs: "testdata/pc/sys", Proc: "testdata/pc/proc"})
	got := summarize(disks)
	want := []summary{
		{"0000:00:17.0/ata1", "sda", "Samsung SSD 870 EVO 500GB", "S62ANJ0R123456K", "naa.5002538f31a2b3c4", 500107862016, 512, false, true, true},
		{"0000:00:17.0/ata3", "sdb", "WDC WD40EFRX-68N32N0", "WD-WCC7K4XXXXXX", "naa.50014ee2b5c0ffee", 4000787030016, 4096, true, false, false},
		{"0000:00:17.0/ata4", "sdc", "ST8000VN004-2M2101", "WSD0ABCD", "naa.5000c500c1234567", 8001563222016, 4096, true, false, false},
		{"0000:03:00.0/ata8", "sdd", "TOSHIBA HDWG480", "X0T0A0AAFBJG", "naa.500003999b80a1b2", 8001563222016, 4096, true, false, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan(pc) =\n%+v\nwant\n%+v", got, want)
	}
	if d := disks[3]; d.Port != 8 || d.LocalPort != 2 {
		t.Errorf("sdd port %d local port %d, want 8, 2", d.Port, d.LocalPort)
	}
	if d := disks[2]; d.Firmware != "SC60" || d.RotationRate != 7200 || d.Identity == nil || !d.Identity.SCTERCSupported {
		t.Errorf("sdc firmware %q rpm %d identity %+v", d.Firmware, d.RotationRate, d.Identity)
	}
	if d := disks[3]; d.Available() || d.DevPath != "/devices/pci0000:00/0000:00:1c.4/0000:03:00.0/ata8/host7/target7:0:0/7:0:0:0/block/sdd" {
		t.Errorf("sdd available %v devpath %q; want in use (mounted)", d.Available(), d.DevPath)
	}
}

// Device letters change between boots; bay keys and serials stay together.
func TestScanStableAcrossLetters(t *testing.T) {
	base := scan(t, &sata.ScanOptions{Sysfs: "testdata/qemu-q35/sys", Proc: "testdata/qemu-q35/proc"})
	tr, err := qemuTree(t.TempDir(), []string{"sdc", "sde", "sda", "sdb", "sdd"})
	if err != nil {
		t.Fatal(err)
	}
	again := scan(t, tr.ScanOptions())
	if len(again) != len(base) {
		t.Fatalf("%d disks, want %d", len(again), len(base))
	}
	for i := range base {
		a, b := base[i], again[i]
		if a.Bay != b.Bay || a.Serial != b.Serial || a.Boot != b.Boot || a.Name == b.Name && i != 4 {
			t.Errorf("disk %d: %s %s %s boot=%v, then %s %s %s boot=%v", i, a.Bay, a.Name, a.Serial, a.Boot, b.Bay, b.Name, b.Serial, b.Boot)
		}
	}
}

// Without mountinfo the boot disk is still found from root=PARTUUID.
func TestBootFromCmdline(t *testing.T) {
	tr, err := qemuTree(t.TempDir(), []string{"sda", "sdb"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tr.Proc, "self", "mountinfo"), nil, 0o644)
	disks := scan(t, tr.ScanOptions())
	if !disks[0].Boot || disks[1].Boot {
		t.Errorf("boot = %v, %v; want true, false", disks[0].Boot, disks[1].Boot)
	}
}

func TestScanEmpty(t *testing.T) {
	dir := t.TempDir()
	if got := scan(t, &sata.ScanOptions{Sysfs: dir, Proc: dir}); len(got) != 0 {
		t.Errorf("Scan(empty sysfs) = %v, want none", got)
	}
	if _, err := sata.NewScanner(&sata.ScanOptions{Sysfs: filepath.Join(dir, "missing")}); err == nil {
		t.Error("NewScanner(missing root) = nil error")
	}
	// This machine's own /sys: whatever is there, Scan must not fail.
	if _, err := os.Stat("/sys/class/block"); err == nil {
		scan(t, nil)
	}
}

func TestIDFileRoundTrip(t *testing.T) {
	p := wd.Identify()
	q, err := sata.ParseIDFile(sata.FormatIDFile(p))
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Errorf("ParseIDFile(FormatIDFile(p)) = %v, differs", err)
	}
	if _, err := sata.ParseIDFile([]byte("0040 zzzz")); err == nil {
		t.Error("ParseIDFile(garbage) = nil error")
	}
}

func FuzzParseIDFile(f *testing.F) {
	f.Add(sata.FormatIDFile(satatest.QEMUIdentify("QM00001", 1<<21)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := sata.ParseIDFile(b); err == nil && len(p) != 512 {
			t.Fatalf("page of %d bytes", len(p))
		}
	})
}

// Without libata's id attribute, identity comes from the SCSI translation.
func TestScanWithoutIDFile(t *testing.T) {
	tr, err := pcTree(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(tr.Sys, "devices/pci0000:00/0000:00:17.0/ata3/link3/dev3.0/ata_device/dev3.0/id"))
	d := scan(t, tr.ScanOptions())[1]
	if d.Identity != nil || d.Model != "WDC WD40EFRX-68N" || d.Serial != "WD-WCC7K4XXXXXX" || d.Firmware != "0A82" || d.WWN != "naa.50014ee2b5c0ffee" {
		t.Errorf("Scan without id = %q %q %q %q identity %v; want the SCSI INQUIRY fields", d.Model, d.Serial, d.Firmware, d.WWN, d.Identity != nil)
	}
}
