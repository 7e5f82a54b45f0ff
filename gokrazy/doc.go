// Package gokrazy builds postvault's flashable boot image: the Linux kernel
// of github.com/gokrazy/kernel.amd64 plus our Go programs, laid out the way
// gokrazy lays out its disks, so that github.com/gokrazy/gokrazy's Boot finds
// everything where it looks.
//
// # Image layout (byte by byte)
//
// The image is a raw disk image with 512-byte sectors:
//
//	LBA 0            protective MBR (one 0xEE partition over the disk)
//	LBA 1            primary GPT header (disk GUID derived from the seed)
//	LBA 2..33        primary GPT partition array (128 entries of 128 bytes)
//	LBA 34..8191     unused, zero (gokrazy starts partitions at 4 MiB)
//	partition 1      "boot": EFI system partition, FAT16, 100 MiB by default
//	partition 2      "root-a": squashfs (gzip), 500 MiB by default
//	partition 3      "root-b": the same squashfs (the inactive slot for updates)
//	last 33 LBAs     backup GPT partition array and header
//
// There is no partition 4 (gokrazy's ext4 /perm): postvault keeps all state
// on its RAID array, so a dead boot drive is replaced by flashing a new one.
// gokrazy.Boot logs that /perm cannot be mounted and goes on.
//
// Partition GUIDs and the disk GUID are derived from Options.Seed (SHA-256 of
// "postvault-image/<seed>/<what>", shaped as an RFC 4122 version 4 GUID), so
// the same seed gives the same kernel command line and the same bytes.
//
// The boot partition holds:
//
//	/EFI/BOOT/BOOTX64.EFI          systemd-boot (Debian's systemd-boot-efi)
//	/loader/loader.conf            "default postvault.conf", "timeout 0"
//	/loader/entries/postvault.conf linux /vmlinuz, options <command line>
//	/vmlinuz                       the gokrazy kernel (bzImage, EFI stub)
//	/cmdline.txt                   the same command line, for gokrazy's A/B switch
//
// The kernel command line is
//
//	root=PARTUUID=<GUID of partition 1>/PARTNROFF=1 rootwait ro
//	init=/gokrazy/init console=ttyS0,115200 panic=10 oops=panic
//
// followed by Options.Cmdline. PARTNROFF=1 selects root A; gokrazy's
// rootdev package parses exactly this form.
//
// Each root file system holds:
//
//	/gokrazy/init      the Go init (Options.Init), PID 1
//	/user/<name>       the programs (Options.Programs)
//	/etc/hostname      Options.Hostname
//	/etc/resolv.conf   symlink to /tmp/resolv.conf (written at run time)
//	/etc/hosts         localhost entries
//	/dev /proc /sys /tmp /run /perm   empty mount points
//
// All files are owned by root, all timestamps are Options.Epoch, and
// mksquashfs runs with -reproducible; FAT timestamps come from
// SOURCE_DATE_EPOCH and the volume ID from the seed. The same inputs give
// the same image, byte for byte.
//
// The file systems are made by Debian's tools (mkfs.vfat and mtools for
// FAT, mksquashfs for squashfs), without root, loop devices or mounts; the
// GPT is written by github.com/diskfs/go-diskfs.
package gokrazy
