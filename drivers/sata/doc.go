// Package sata is postvault's driver for real SATA disks: discovery from
// sysfs, identity and health through ATA commands (IDENTIFY DEVICE, SMART,
// SCT) sent with the SG_IO ioctl, hotplug from the kernel's uevents, and a
// block member for the RAID with aligned O_DIRECT I/O.
//
// # Bay keys
//
// A disk is known by the port it sits in, not by its device name (sda, sdb
// change from boot to boot). The bay key is the PCI address of the SATA
// controller, a slash, and the kernel's name of the ATA port:
//
//	0000:00:1f.2/ata3
//
// This is the form hal's board files use (hal.PortKey, hal.CheckPort). The
// kernel numbers ATA ports in the order it registers the controllers, which
// is the PCI order and does not change between boots of the same hardware
// and kernel; Disk.LocalPort has the port's number on its own controller
// (sysfs ata_port/ataN/port_no) for the rare case where it does. A disk
// behind a port multiplier adds the multiplier port: 0000:00:1f.2/ata3.2.
// A controller that is not on PCI (a platform AHCI, as on some ARM boards)
// is named by its sysfs device directory instead ("fe300000.sata/ata1").
// Neither of those two forms is accepted by hal.CheckPort yet.
//
// # Layers of this package
//
//   - Scanner (sysfs.go) lists disks under a sysfs root: bay key, device
//     node, identity (from the kernel's cached IDENTIFY data in
//     ata_device/devN.M/id), sizes, rotation, and whether the disk holds
//     the running system (the boot disk), which is never offered as a member.
//   - ATA (ata.go) sends ATA commands in SCSI ATA PASS-THROUGH (16) CDBs
//     through a Transport: the SG_IO ioctl on Linux, satatest.Playback in
//     tests. IDENTIFY, SMART RETURN STATUS, READ DATA, READ THRESHOLDS, READ
//     LOG (summary error log 0x01, self-test log 0x06), EXECUTE OFF-LINE
//     IMMEDIATE (self-tests) and SCT Error Recovery Control.
//   - Watcher (watch.go) turns NETLINK_KOBJECT_UEVENT messages into debounced
//     Added/Removed/Changed events keyed by bay, with a periodic rescan.
//   - Member (member.go) is one opened disk (or file) with aligned O_DIRECT
//     reads and writes, Flush by fdatasync, classified errors and latency
//     statistics. It satisfies drivers/raid's Member interface structurally.
//
// The byte layouts of the ATA data pages this package decodes (IDENTIFY
// DEVICE, SMART data, thresholds, the error and self-test logs, the SCT
// command block) and of the uevent wire format are documented in
// docs/sata.md.
package sata
