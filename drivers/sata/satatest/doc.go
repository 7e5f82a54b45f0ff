// Package satatest holds fakes for package sata's tests and its callers'
// tests: Playback and Record (an SG_IO transcript in the style of periph's
// i2ctest), Disk (a simulated ATA disk that answers IDENTIFY, SMART, logs,
// self-tests and SCT Error Recovery Control as QEMU's ide-hd and real disks
// do), builders for IDENTIFY and SMART pages, Events (a uevent source fed
// by the test) and Tree (a sysfs tree written into a temporary folder).
package satatest
