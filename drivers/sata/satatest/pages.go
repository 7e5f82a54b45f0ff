package satatest

import "encoding/binary"

// Drive describes a disk for IDENTIFY DEVICE pages.
type Drive struct {
	Model, Serial, Firmware string
	Sectors                 uint64 // logical sectors
	WWN                     uint64 // 0: none
	LogicalSize             int    // bytes; 0 is 512
	PhysicalExp             int    // physical sector = logical << PhysicalExp
	RotationRate            int    // 0 unknown, 1 SSD, else rpm
	SCTERC                  bool   // SCT Error Recovery Control supported
	Checksum                bool   // write the integrity word (real disks do)
}

func putString(p []byte, s string) {
	for i := range p {
		p[i] = ' '
	}
	copy(p, s)
	for i := 0; i+1 < len(p); i += 2 {
		p[i], p[i+1] = p[i+1], p[i]
	}
}

func putWord(p []byte, n int, v uint16) { binary.LittleEndian.PutUint16(p[2*n:], v) }

// Identify builds the IDENTIFY DEVICE page of a modern SATA disk.
func (d Drive) Identify() []byte {
	p := make([]byte, 512)
	putWord(p, 0, 0x0040)
	putString(p[20:40], d.Serial)
	putString(p[46:54], d.Firmware)
	putString(p[54:94], d.Model)
	putWord(p, 49, 0x2f00)                    // LBA, DMA, IORDY
	putWord(p, 76, 0x850e)                    // SATA gen 1-3, NCQ
	putWord(p, 80, 0x07f0)                    // ATA-4 .. ACS-3
	putWord(p, 82, 0x746b)                    // SMART, write cache, ...
	putWord(p, 83, 0x7d09|1<<10)              // 48-bit
	putWord(p, 84, 0x6163|uint16(d.wwnBit())) // error log, self-test
	putWord(p, 85, 0x7469)                    // SMART enabled, write cache enabled
	putWord(p, 86, 0xbc01|1<<10)
	putWord(p, 87, 0x6163|uint16(d.wwnBit()))
	sec := d.Sectors
	lba28 := min(sec, 0x0fffffff)
	putWord(p, 60, uint16(lba28))
	putWord(p, 61, uint16(lba28>>16))
	for i := 0; i < 4; i++ {
		putWord(p, 100+i, uint16(sec>>(16*i)))
	}
	w106 := uint16(0x4000)
	if d.PhysicalExp > 0 {
		w106 |= 1<<13 | uint16(d.PhysicalExp)
	}
	if d.LogicalSize > 512 {
		w106 |= 1 << 12
		words := uint32(d.LogicalSize / 2)
		putWord(p, 117, uint16(words))
		putWord(p, 118, uint16(words>>16))
	}
	putWord(p, 106, w106)
	if d.WWN != 0 {
		for i := 0; i < 4; i++ {
			putWord(p, 108+i, uint16(d.WWN>>(48-16*i)))
		}
	}
	if d.SCTERC {
		putWord(p, 206, 0x003d) // SCT, write same, ERC, features, data tables
	}
	putWord(p, 217, uint16(d.RotationRate))
	if d.Checksum {
		p[510] = 0xa5
		var s byte
		for _, b := range p[:511] {
			s += b
		}
		p[511] = -s
	}
	return p
}

func (d Drive) wwnBit() int {
	if d.WWN != 0 {
		return 1 << 8
	}
	return 0
}

// QEMUIdentify builds the IDENTIFY DEVICE page QEMU's ide-hd (hw/ide/core.c,
// ide_identify, QEMU 7.2) returns for a disk of the given serial and size
// in 512-byte sectors, with the default model "QEMU HARDDISK", firmware
// "2.5+", no WWN, write cache on, TRIM, no integrity word, no SCT, and the
// 16/63 CHS geometry QEMU guesses. TestQEMU checks it byte for byte
// against what QEMU 7.2 answers on the ich9-ahci controller.
func QEMUIdentify(serial string, sectors uint64) []byte {
	p := make([]byte, 512)
	cyl := min(sectors/(16*63), 16383)
	putWord(p, 0, 0x0040)
	putWord(p, 1, uint16(cyl))
	putWord(p, 3, 16)
	putWord(p, 4, 512*63)
	putWord(p, 5, 512)
	putWord(p, 6, 63)
	putString(p[20:40], serial)
	putWord(p, 20, 3)
	putWord(p, 21, 512)
	putWord(p, 22, 4)
	putString(p[46:54], "2.5+")
	putString(p[54:94], "QEMU HARDDISK")
	putWord(p, 47, 0x8000|16)
	putWord(p, 48, 1)
	putWord(p, 49, 1<<11|1<<9|1<<8)
	putWord(p, 51, 0x200)
	putWord(p, 52, 0x200)
	putWord(p, 53, 7)
	putWord(p, 54, uint16(cyl))
	putWord(p, 55, 16)
	putWord(p, 56, 63)
	old := uint32(cyl * 16 * 63)
	putWord(p, 57, uint16(old))
	putWord(p, 58, uint16(old>>16))
	putWord(p, 59, 0x100|16)
	putWord(p, 60, uint16(sectors))
	putWord(p, 61, uint16(sectors>>16))
	putWord(p, 62, 7)
	putWord(p, 63, 7)
	putWord(p, 64, 3)
	for w := 65; w <= 68; w++ {
		putWord(p, w, 120)
	}
	putWord(p, 69, 1<<14) // deterministic read after TRIM
	putWord(p, 75, 31)    // NCQ queue depth 32 (AHCI)
	putWord(p, 76, 1<<8)  // NCQ
	putWord(p, 80, 0xf0)
	putWord(p, 81, 0x16)
	putWord(p, 82, 1<<14|1<<5|1)
	putWord(p, 83, 1<<14|1<<13|1<<12|1<<10)
	putWord(p, 84, 1<<14)
	putWord(p, 85, 1<<14|1<<5|1)
	putWord(p, 86, 1<<13|1<<12|1<<10)
	putWord(p, 87, 1<<14)
	putWord(p, 88, 0x3f|1<<13)
	putWord(p, 93, 1|1<<14|0x2000)
	for i := 0; i < 4; i++ {
		putWord(p, 100+i, uint16(sectors>>(16*i)))
	}
	putWord(p, 106, 0x6000) // physical block size given: 2^0 logical sectors
	putWord(p, 169, 1)      // TRIM (discard_granularity is set)
	return p
}

// Attr is one SMART attribute for SMARTData.
type Attr struct {
	ID, Flags, Value, Worst, Threshold int
	Raw                                uint64
}

// QEMUAttrs are the attributes QEMU's ide-hd reports (fixed values).
var QEMUAttrs = []Attr{
	{ID: 1, Flags: 3, Value: 0x64, Worst: 0x64, Threshold: 6},
	{ID: 3, Flags: 3, Value: 0x64, Worst: 0x64, Raw: 0x10},
	{ID: 4, Flags: 2, Value: 0x64, Worst: 0x64, Raw: 0x64, Threshold: 0x14},
	{ID: 5, Flags: 3, Value: 0x64, Worst: 0x64, Threshold: 0x24},
	{ID: 9, Flags: 3, Value: 0x64, Worst: 0x64, Raw: 1},
	{ID: 12, Flags: 3, Value: 0x64, Worst: 0x64},
	{ID: 190, Flags: 3, Value: 0x45, Worst: 0x45, Raw: 0x1f1f001f, Threshold: 0x32},
}

func sum(p []byte) {
	var s byte
	for _, b := range p[:511] {
		s += b
	}
	p[511] = -s
}

// SMARTPages builds the SMART READ DATA and READ THRESHOLDS pages for attrs,
// with the capability bytes QEMU uses (self-test and error log supported,
// short test 2 min, extended 54 min) and selfTest as byte 363.
func SMARTPages(attrs []Attr, selfTest byte) (data, thresh []byte) {
	data, thresh = make([]byte, 512), make([]byte, 512)
	data[0], thresh[0] = 1, 1
	for i, a := range attrs {
		e := data[2+12*i:]
		e[0] = byte(a.ID)
		binary.LittleEndian.PutUint16(e[1:], uint16(a.Flags))
		e[3], e[4] = byte(a.Value), byte(a.Worst)
		for j := 0; j < 6; j++ {
			e[5+j] = byte(a.Raw >> (8 * j))
		}
		t := thresh[2+12*i:]
		t[0], t[1] = byte(a.ID), byte(a.Threshold)
	}
	data[362] = 0x82 // off-line collection: never started; attribute autosave on
	data[363] = selfTest
	data[364], data[365] = 0x20, 0x01
	data[367] = 1<<4 | 1<<3 | 1
	data[368] = 3
	data[370] = 1
	data[372], data[373], data[374] = 2, 0x36, 1
	sum(data)
	sum(thresh)
	return data, thresh
}

// SelfTestLogPage builds a self-test log whose descriptors are entries,
// oldest first (each: test, status, hours, failing LBA).
func SelfTestLogPage(entries ...[4]uint32) []byte {
	p := make([]byte, 512)
	p[0] = 1
	for i, e := range entries {
		d := p[2+24*(i%21):]
		d[0], d[1] = byte(e[0]), byte(e[1])
		binary.LittleEndian.PutUint16(d[2:], uint16(e[2]))
		binary.LittleEndian.PutUint32(d[5:], e[3])
	}
	if n := len(entries); n > 0 {
		p[508] = byte((n-1)%21 + 1)
	}
	sum(p)
	return p
}

// ErrorLogPage builds a summary error log with count errors in total and
// one entry per lba (oldest first): an UNC read error (READ DMA 0xC8).
func ErrorLogPage(count int, hours int, lbas ...uint32) []byte {
	p := make([]byte, 512)
	p[0] = 1
	for i, lba := range lbas {
		s := p[2+90*(i%5):]
		c := s[48:60] // the failing command, last of five
		c[1], c[2], c[3], c[4], c[5], c[6], c[7] = 0, 8, byte(lba), byte(lba>>8), byte(lba>>16), 0xe0|byte(lba>>24)&0x0f, 0xc8
		binary.LittleEndian.PutUint32(c[8:], 123456)
		s[61], s[62], s[63], s[64], s[65], s[66], s[67] = 0x40, 8, byte(lba), byte(lba>>8), byte(lba>>16), 0xe0|byte(lba>>24)&0x0f, 0x51
		s[87] = 1
		binary.LittleEndian.PutUint16(s[88:], uint16(hours))
	}
	if n := len(lbas); n > 0 {
		p[1] = byte((n-1)%5 + 1)
	}
	binary.LittleEndian.PutUint16(p[452:], uint16(count))
	sum(p)
	return p
}
