package satatest

import (
	"encoding/binary"
	"sync"

	"github.com/postvault/postvault/drivers/sata"
)

// Disk is a simulated ATA disk behind SG_IO. It answers IDENTIFY DEVICE,
// SMART READ DATA / THRESHOLDS / RETURN STATUS / READ LOG (0x01, 0x06),
// EXECUTE OFF-LINE IMMEDIATE (a self-test completes at once and is logged,
// as in QEMU) and, if Drive.SCTERC, SCT Error Recovery Control through
// SMART WRITE LOG 0xE0. Anything else is aborted, as a disk does.
type Disk struct {
	mu sync.Mutex // guards every field

	Drive   Drive
	QEMU    bool   // answer IDENTIFY as QEMU's ide-hd instead of Drive.Identify
	Attrs   []Attr // SMART attributes
	Failing bool   // SMART RETURN STATUS reports "threshold exceeded"
	// FixedSense answers with fixed-format sense data (libata's default
	// when the control mode page's D_SENSE is 0).
	FixedSense bool
	// Errors and ErrorLBAs fill the summary error log.
	Errors    int
	ErrorLBAs []uint32
	// Tests is the self-test log, oldest first: test, status, hours, LBA.
	Tests [][4]uint32
	Hours int
	// ERCRead and ERCWrite are the SCT ERC timers in 100 ms units.
	ERCRead, ERCWrite uint16
	// Commands counts the commands received, by ATA command code.
	Commands map[byte]int
}

var _ sata.Transport = (*Disk)(nil)

// SGIO implements sata.Transport.
func (d *Disk) SGIO(fd uintptr, h *sata.SGIO) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	op := d.handle(h)
	return answer(&op, h)
}

func (d *Disk) regs(key, asc, ascq byte, r ATARegs) []byte {
	if d.FixedSense {
		return FixedSense(key, asc, ascq, r)
	}
	return DescriptorSense(key, asc, ascq, r)
}

func (d *Disk) abort() Op {
	return Op{Status: 2, Sense: d.regs(0x0b, 0, 0, ATARegs{Status: 0x51, Error: 0x04})}
}

func (d *Disk) handle(h *sata.SGIO) Op {
	c := h.CDB
	if len(c) != 16 || c[0] != 0x85 {
		return Op{Status: 2, Sense: d.regs(0x05, 0x20, 0, ATARegs{})} // INVALID COMMAND OPERATION CODE
	}
	cmd, feat, count, lbaLow, mid, high := c[14], c[4], c[6], c[8], c[10], c[12]
	check := c[2]&0x20 != 0
	if d.Commands == nil {
		d.Commands = map[byte]int{}
	}
	d.Commands[cmd]++
	done := func(op Op, r ATARegs) Op {
		if check {
			r.Status |= 0x50
			op.Status = 2
			op.Sense = d.regs(0x01, 0, 0x1d, r)
		}
		return op
	}
	switch {
	case cmd == 0xec:
		if d.QEMU {
			return done(Op{Read: QEMUIdentify(d.Drive.Serial, d.Drive.Sectors)}, ATARegs{})
		}
		return done(Op{Read: d.Drive.Identify()}, ATARegs{})
	case cmd != 0xb0 || mid != 0x4f || high != 0xc2:
		return d.abort()
	}
	switch feat {
	case 0xd0, 0xd1:
		var st byte
		if n := len(d.Tests); n > 0 {
			st = byte(d.Tests[n-1][1])
		}
		data, thr := SMARTPages(d.Attrs, st)
		if feat == 0xd0 {
			return done(Op{Read: data}, ATARegs{})
		}
		return done(Op{Read: thr}, ATARegs{})
	case 0xda:
		r := ATARegs{LBAMid: 0x4f, LBAHigh: 0xc2}
		if d.Failing {
			r.LBAMid, r.LBAHigh = 0xf4, 0x2c
		}
		return done(Op{}, r)
	case 0xd5:
		switch lbaLow {
		case 0x01:
			return done(Op{Read: ErrorLogPage(d.Errors, d.Hours, d.ErrorLBAs...)}, ATARegs{})
		case 0x06:
			return done(Op{Read: SelfTestLogPage(d.Tests...)}, ATARegs{})
		}
	case 0xd4:
		if lbaLow >= 1 && lbaLow <= 3 {
			d.Tests = append(d.Tests, [4]uint32{uint32(lbaLow), 0, uint32(d.Hours), 0})
			return done(Op{}, ATARegs{})
		}
	case 0xd6:
		if lbaLow == 0xe0 && count == 1 && d.Drive.SCTERC && h.Dir == sata.DirToDevice && len(h.Data) == 512 {
			return d.sct(h.Data, done)
		}
	}
	return d.abort()
}

func (d *Disk) sct(b []byte, done func(Op, ATARegs) Op) Op {
	action, fn, sel, v := binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]),
		binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(b[6:])
	if action != 3 || (sel != 1 && sel != 2) {
		return d.abort()
	}
	t := &d.ERCRead
	if sel == 2 {
		t = &d.ERCWrite
	}
	switch fn {
	case 1:
		*t = v
		return done(Op{}, ATARegs{})
	case 2:
		return done(Op{}, ATARegs{Count: byte(*t), LBALow: byte(*t >> 8)})
	}
	return d.abort()
}

// Count returns how many commands with ATA command code cmd arrived.
func (d *Disk) Count(cmd byte) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Commands[cmd]
}
