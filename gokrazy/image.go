package gokrazy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Sizes and positions of the gokrazy layout.
const (
	SectorSize        = 512
	FirstLBA          = 8192            // partition 1 starts at 4 MiB
	DefaultBootSize   = 100 << 20       // FAT boot partition
	DefaultRootSize   = 500 << 20       // each squashfs root
	gptTrailerBytes   = 33 * SectorSize // backup partition array + header
	defaultHostname   = "postvault"
	defaultSeed       = "postvault"
	systemdBootDebian = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
)

// DefaultEpoch is the timestamp of every file in the image when
// Options.Epoch is zero: 2026-01-01 00:00:00 UTC.
var DefaultEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options says what goes into an image. Init is required; every other zero
// value has the default written beside it.
type Options struct {
	// Init is a linux/amd64 static binary, installed as /gokrazy/init.
	Init string
	// Programs maps a name under /user (e.g. "postvault") to a host file.
	Programs map[string]string
	// Files maps a path in the root file system (e.g. "/etc/postvault.conf")
	// to its contents (mode 0644).
	Files map[string][]byte
	// Kernel is the bzImage; "" means the vmlinuz of the
	// github.com/gokrazy/kernel.amd64 module (see KernelPath).
	Kernel string
	// SystemdBoot is systemd-bootx64.efi; "" means Debian's
	// /usr/lib/systemd/boot/efi/systemd-bootx64.efi.
	SystemdBoot string
	// Hostname goes to /etc/hostname; "" means "postvault".
	Hostname string
	// Cmdline is appended to the standard kernel command line.
	Cmdline string
	// Seed derives the disk and partition GUIDs and the FAT volume ID;
	// "" means "postvault".
	Seed string
	// Epoch is the timestamp of every file; zero means DefaultEpoch.
	Epoch time.Time
	// BootSize and RootSize are partition sizes in bytes, multiples of 1 MiB;
	// zero means DefaultBootSize and DefaultRootSize.
	BootSize, RootSize int64
	// TempDir holds intermediate files; "" means os.TempDir().
	TempDir string
}

// Partition describes one partition of a built image.
type Partition struct {
	Name  string
	GUID  string
	Start int64 // byte offset in the image
	Size  int64 // bytes reserved
	Used  int64 // bytes of file system written
}

// Image describes a built image.
type Image struct {
	Path       string
	Size       int64 // size of the image file
	Content    int64 // bytes that are not all-zero 4 KiB blocks (what dd really has to write)
	KernelSize int64 // size of the kernel alone
	DiskGUID   string
	Cmdline    string // the kernel command line in the image
	Partitions []Partition
}

// KernelPath returns the vmlinuz of the github.com/gokrazy/kernel.amd64
// module that the current module requires (from the module cache).
func KernelPath(ctx context.Context) (string, error) {
	dir, err := goListModuleDir(ctx, "github.com/gokrazy/kernel.amd64")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "vmlinuz"), nil
}

// GUID derives a stable RFC 4122 version 4 GUID from seed and what.
func GUID(seed, what string) string {
	h := sha256.Sum256([]byte("postvault-image/" + seed + "/" + what))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// BootCmdline is the kernel command line of an image whose partition 1 has
// the GUID boot; extra is appended.
func BootCmdline(boot, extra string) string {
	c := "root=PARTUUID=" + strings.ToLower(boot) + "/PARTNROFF=1 rootwait ro init=/gokrazy/init" +
		" console=ttyS0,115200 panic=10 oops=panic"
	if extra = strings.TrimSpace(extra); extra != "" {
		c += " " + extra
	}
	return c
}

func (o *Options) withDefaults(ctx context.Context) (Options, error) {
	d := *o
	if d.Init == "" {
		return d, errors.New("gokrazy: Options.Init is required")
	}
	if d.Kernel == "" {
		k, err := KernelPath(ctx)
		if err != nil {
			return d, err
		}
		d.Kernel = k
	}
	if d.SystemdBoot == "" {
		d.SystemdBoot = systemdBootDebian
	}
	if d.Hostname == "" {
		d.Hostname = defaultHostname
	}
	if d.Seed == "" {
		d.Seed = defaultSeed
	}
	if d.Epoch.IsZero() {
		d.Epoch = DefaultEpoch
	}
	if d.BootSize == 0 {
		d.BootSize = DefaultBootSize
	}
	if d.RootSize == 0 {
		d.RootSize = DefaultRootSize
	}
	if d.BootSize%(1<<20) != 0 || d.RootSize%(1<<20) != 0 || d.BootSize < 16<<20 || d.RootSize < 1<<20 {
		return d, fmt.Errorf("gokrazy: partition sizes must be whole MiB (boot >= 16 MiB): boot %d, root %d", d.BootSize, d.RootSize)
	}
	for _, f := range []string{d.Init, d.Kernel, d.SystemdBoot} {
		if _, err := os.Stat(f); err != nil {
			return d, fmt.Errorf("gokrazy: %w", err)
		}
	}
	for name, src := range d.Programs {
		if name == "" || strings.ContainsAny(name, "/\\") {
			return d, fmt.Errorf("gokrazy: bad program name %q", name)
		}
		if _, err := os.Stat(src); err != nil {
			return d, fmt.Errorf("gokrazy: program %s: %w", name, err)
		}
	}
	return d, nil
}

// Build writes the image to out (replacing it only once the whole image is
// written) and describes it.
func Build(ctx context.Context, out string, opts *Options) (*Image, error) {
	o, err := opts.withDefaults(ctx)
	if err != nil {
		return nil, err
	}
	if err := requireTools("mksquashfs", "mkfs.vfat", "mmd", "mcopy"); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(o.TempDir, "postvault-image-")
	if err != nil {
		return nil, fmt.Errorf("gokrazy: %w", err)
	}
	defer os.RemoveAll(work)

	bootGUID := GUID(o.Seed, "partition/1")
	cmdline := BootCmdline(bootGUID, o.Cmdline)
	bootFS := filepath.Join(work, "boot.fat")
	if err := makeBoot(ctx, bootFS, work, &o, cmdline); err != nil {
		return nil, err
	}
	rootFS := filepath.Join(work, "root.squashfs")
	if err := makeRoot(ctx, rootFS, work, &o); err != nil {
		return nil, err
	}

	parts := []Partition{
		{Name: "boot", GUID: bootGUID, Start: FirstLBA * SectorSize, Size: o.BootSize},
		{Name: "root-a", GUID: GUID(o.Seed, "partition/2"), Size: o.RootSize},
		{Name: "root-b", GUID: GUID(o.Seed, "partition/3"), Size: o.RootSize},
	}
	for i := 1; i < len(parts); i++ {
		parts[i].Start = parts[i-1].Start + parts[i-1].Size
	}
	size := parts[len(parts)-1].Start + parts[len(parts)-1].Size + 1<<20 // room for the backup GPT

	img := &Image{Path: out, Size: size, DiskGUID: GUID(o.Seed, "disk"), Cmdline: cmdline}
	tmp := out + ".tmp"
	if err := writeImage(tmp, img, parts, []string{bootFS, rootFS, rootFS}); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("gokrazy: %w", err)
	}
	if fi, err := os.Stat(o.Kernel); err == nil {
		img.KernelSize = fi.Size()
	}
	return img, nil
}

// writeImage creates path with the GPT of parts and each partition's file
// system copied in (all-zero blocks are skipped, so the file stays sparse).
func writeImage(path string, img *Image, parts []Partition, contents []string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(img.Size); err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	table := &gpt.Table{
		LogicalSectorSize:  SectorSize,
		PhysicalSectorSize: SectorSize,
		ProtectiveMBR:      true,
		GUID:               img.DiskGUID,
	}
	types := []gpt.Type{gpt.EFISystemPartition, gpt.LinuxFilesystem, gpt.LinuxFilesystem}
	for i, p := range parts {
		table.Partitions = append(table.Partitions, &gpt.Partition{
			Index: i + 1,
			Start: uint64(p.Start / SectorSize),
			End:   uint64((p.Start+p.Size)/SectorSize - 1),
			Size:  uint64(p.Size),
			Type:  types[i],
			Name:  p.Name,
			GUID:  p.GUID,
		})
	}
	if err := table.Write(f, img.Size); err != nil {
		return fmt.Errorf("gokrazy: writing GPT: %w", err)
	}
	img.Content = 0
	for i := range parts {
		_, nonzero, err := copyInto(f, parts[i].Start, parts[i].Size, contents[i])
		if err != nil {
			return fmt.Errorf("gokrazy: partition %s: %w", parts[i].Name, err)
		}
		parts[i].Used = nonzero
		img.Content += nonzero
	}
	img.Content += 2 * gptTrailerBytes // both GPT copies (approximately: MBR + header + array)
	img.Partitions = parts
	return f.Sync()
}

// copyInto copies the file src to dst at off, refusing more than max bytes,
// and skips all-zero blocks. It returns the bytes copied and the non-zero ones.
func copyInto(dst *os.File, off, max int64, src string) (n, nonzero int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, 0, err
	}
	if fi.Size() > max {
		return 0, 0, fmt.Errorf("file system is %d bytes, partition only %d", fi.Size(), max)
	}
	buf := make([]byte, 1<<16)
	for {
		m, rerr := io.ReadFull(in, buf)
		if m > 0 {
			for b := 0; b < m; b += 4096 {
				e := min(b+4096, m)
				if allZero(buf[b:e]) {
					continue
				}
				if _, err := dst.WriteAt(buf[b:e], off+n+int64(b)); err != nil {
					return n, nonzero, err
				}
				nonzero += int64(e - b)
			}
			n += int64(m)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return n, nonzero, nil
		}
		if rerr != nil {
			return n, nonzero, rerr
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
