package sata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Identity is the decoded IDENTIFY DEVICE data of an ATA disk (ACS-3
// section 7.12.7). Word numbers below are 16-bit little-endian words of the
// 512-byte page.
type Identity struct {
	Model    string `json:"model"`    // words 27-46
	Serial   string `json:"serial"`   // words 10-19
	Firmware string `json:"firmware"` // words 23-26
	// WWN is the 64-bit world wide name (words 108-111) if word 84 bit 8
	// says it is valid, else 0.
	WWN WWN `json:"wwn,omitempty"`
	// Sectors is the number of user-addressable logical sectors: words
	// 100-103 when 48-bit addressing is supported, else words 60-61.
	Sectors            uint64 `json:"sectors"`
	LogicalSectorSize  int    `json:"logical_sector_size"`  // words 106, 117-118
	PhysicalSectorSize int    `json:"physical_sector_size"` // word 106
	// RotationRate is word 217: 0 not reported, 1 solid state, else rpm.
	RotationRate int `json:"rotation_rate"`

	LBA48             bool `json:"lba48"`               // word 83 bit 10
	SMARTSupported    bool `json:"smart_supported"`     // word 82 bit 0
	SMARTEnabled      bool `json:"smart_enabled"`       // word 85 bit 0
	ErrorLogSupported bool `json:"error_log_supported"` // word 84 bit 0
	SelfTestSupported bool `json:"self_test_supported"` // word 84 bit 1
	WriteCache        bool `json:"write_cache"`         // word 85 bit 5
	NCQ               bool `json:"ncq"`                 // word 76 bit 8
	TRIM              bool `json:"trim"`                // word 169 bit 0
	SCTSupported      bool `json:"sct_supported"`       // word 206 bit 0
	SCTERCSupported   bool `json:"sct_erc_supported"`   // word 206 bit 3
	// MajorVersion is the highest ATA/ACS standard in word 80 (bit n: ATA-n;
	// 8 is ATA8-ACS, 9 ACS-2, 10 ACS-3, 11 ACS-4).
	MajorVersion int `json:"major_version"`
	// Checksummed reports whether word 255 carried the integrity signature
	// 0xA5 (then the checksum was verified). QEMU's ide-hd leaves it zero.
	Checksummed bool `json:"checksummed"`
}

// Size is the disk's capacity in bytes.
func (id *Identity) Size() int64 { return int64(id.Sectors) * int64(id.LogicalSectorSize) }

// WWN is a 64-bit world wide name. It prints, and encodes in JSON, as
// Linux writes it in sysfs wwid: "naa.5000c500a1b2c3d4" ("" for none).
type WWN uint64

func (w WWN) String() string {
	if w == 0 {
		return ""
	}
	return fmt.Sprintf("naa.%016x", uint64(w))
}

// MarshalText implements encoding.TextMarshaler.
func (w WWN) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (w *WWN) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*w = 0
		return nil
	}
	var v uint64
	if _, err := fmt.Sscanf(string(b), "naa.%016x", &v); err != nil || len(b) != 20 {
		return fmt.Errorf("sata: WWN %q is not naa. and 16 hex digits", b)
	}
	*w = WWN(v)
	return nil
}

// WWNString is id.WWN.String().
func (id *Identity) WWNString() string { return id.WWN.String() }

// Solid reports whether the disk says it does not rotate.
func (id *Identity) Solid() bool { return id.RotationRate == 1 }

// ataString decodes an ATA string: each word holds two characters, the
// first in the high byte. Padding spaces and NULs are trimmed.
func ataString(p []byte) string {
	b := make([]byte, len(p))
	for i := 0; i+1 < len(p); i += 2 {
		b[i], b[i+1] = p[i+1], p[i]
	}
	return strings.Trim(string(b), " \x00")
}

// DecodeIdentify decodes a 512-byte IDENTIFY DEVICE page.
func DecodeIdentify(p []byte) (*Identity, error) {
	if len(p) != 512 {
		return nil, fmt.Errorf("sata: IDENTIFY data is %d bytes, want 512", len(p))
	}
	w := func(n int) uint16 { return binary.LittleEndian.Uint16(p[2*n:]) }
	if w(0)&0x8000 != 0 {
		return nil, errors.New("sata: IDENTIFY data is not of an ATA device (word 0 bit 15)")
	}
	id := &Identity{}
	if w(255)&0xff == 0xa5 {
		var sum byte
		for _, b := range p {
			sum += b
		}
		if sum != 0 {
			return nil, fmt.Errorf("sata: IDENTIFY checksum is off by %#x", sum)
		}
		id.Checksummed = true
	}
	id.Serial = printable(ataString(p[20:40]))
	id.Firmware = printable(ataString(p[46:54]))
	id.Model = printable(ataString(p[54:94]))

	valid := func(n int) bool { return w(n)&0xc000 == 0x4000 } // bit 14 set, 15 clear
	id.LBA48 = w(83)&(1<<10) != 0
	if id.LBA48 {
		id.Sectors = uint64(w(100)) | uint64(w(101))<<16 | uint64(w(102))<<32 | uint64(w(103))<<48
	}
	if id.Sectors == 0 {
		id.Sectors = uint64(w(60)) | uint64(w(61))<<16
	}
	id.SMARTSupported = w(82)&1 != 0
	id.SMARTEnabled = w(85)&1 != 0
	id.WriteCache = w(85)&(1<<5) != 0
	if valid(84) {
		id.ErrorLogSupported = w(84)&1 != 0
		id.SelfTestSupported = w(84)&2 != 0
		if w(84)&(1<<8) != 0 {
			id.WWN = WWN(uint64(w(108))<<48 | uint64(w(109))<<32 | uint64(w(110))<<16 | uint64(w(111)))
		}
	}
	id.NCQ = w(76) != 0 && w(76) != 0xffff && w(76)&(1<<8) != 0
	id.TRIM = w(169)&1 != 0
	if w(206) != 0xffff {
		id.SCTSupported = w(206)&1 != 0
		id.SCTERCSupported = id.SCTSupported && w(206)&(1<<3) != 0
	}
	if v := w(80); v != 0 && v != 0xffff {
		for b := 15; b > 0; b-- {
			if v&(1<<b) != 0 {
				id.MajorVersion = b
				break
			}
		}
	}
	id.LogicalSectorSize, id.PhysicalSectorSize = 512, 512
	if valid(106) {
		if w(106)&(1<<12) != 0 {
			words := uint32(w(117)) | uint32(w(118))<<16
			if words >= 256 && words <= 32768 {
				id.LogicalSectorSize = int(words) * 2
			}
		}
		id.PhysicalSectorSize = id.LogicalSectorSize
		if w(106)&(1<<13) != 0 {
			id.PhysicalSectorSize = id.LogicalSectorSize << (w(106) & 0xf)
		}
	}
	if r := w(217); r == 1 || (r >= 0x401 && r < 0xffff) {
		id.RotationRate = int(r)
	}
	return id, nil
}

// printable replaces bytes outside printable ASCII with '?', so that a
// broken device cannot put control characters into logs and tables.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			b := []byte(s)
			for j := range b {
				if b[j] < 0x20 || b[j] > 0x7e {
					b[j] = '?'
				}
			}
			return string(b)
		}
	}
	return s
}

// Identify sends IDENTIFY DEVICE (0xEC) and decodes the answer.
func (a *ATA) Identify() (*Identity, error) {
	p, err := a.IdentifyPage()
	if err != nil {
		return nil, err
	}
	return DecodeIdentify(p)
}

// IdentifyPage sends IDENTIFY DEVICE and returns the raw 512-byte page.
func (a *ATA) IdentifyPage() ([]byte, error) {
	p := make([]byte, 512)
	_, err := a.exec(ataCmd{name: "IDENTIFY DEVICE", proto: protoPIOIn, data: p,
		tf: taskfile{Command: 0xec, Count: 1}})
	if err != nil {
		return nil, err
	}
	return p, nil
}
