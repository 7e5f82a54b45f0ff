package sata

import (
	"encoding/binary"
	"fmt"
	"time"
)

// SCT command block (ACS-3 section 8.3), written with SMART WRITE LOG to log
// address 0xE0:
//
//	0-1  action code (LE16): 3 = Error Recovery Control
//	2-3  function code (LE16): 1 = set, 2 = return current
//	4-5  selection code (LE16): 1 = read timer, 2 = write timer
//	6-7  value (LE16), in units of 100 ms (set only)
//
// The rest of the 512-byte sector is zero. For "return current" the device
// answers in COUNT (low byte) and LBA LOW (high byte).
const (
	sctActionERC = 3
	sctSet       = 1
	sctReturn    = 2
	sctReadTimer = 1
	sctWriteTmr  = 2
)

func sctERCBlock(function, selection uint16, value uint16) []byte {
	b := make([]byte, 512)
	binary.LittleEndian.PutUint16(b[0:], sctActionERC)
	binary.LittleEndian.PutUint16(b[2:], function)
	binary.LittleEndian.PutUint16(b[4:], selection)
	binary.LittleEndian.PutUint16(b[6:], value)
	return b
}

// SetErrorRecovery sets SCT Error Recovery Control: how long the disk may
// retry a failing read or write before it reports an error. 7 s keeps a
// weak sector from stalling the disk long enough (30 s) for the kernel to
// reset the link and drop it; the RAID repairs the sector instead. Zero
// disables the limit. The setting is volatile: it has to be set again after
// every power cycle or hotplug. Returns ErrUnsupported (wrapped) if the
// IDENTIFY data do not list SCT Error Recovery Control.
func (a *ATA) SetErrorRecovery(id *Identity, read, write time.Duration) error {
	if !id.SCTERCSupported {
		return a.err("SCT ERROR RECOVERY CONTROL", KindAborted, ErrUnsupported)
	}
	for _, s := range []struct {
		sel uint16
		d   time.Duration
	}{{sctReadTimer, read}, {sctWriteTmr, write}} {
		v := s.d / (100 * time.Millisecond)
		if v < 0 || v > 0xffff {
			return fmt.Errorf("sata: error recovery time %v out of range", s.d)
		}
		_, err := a.smart("SCT ERROR RECOVERY CONTROL set", smartWriteLog, logSCTCommand, 1,
			protoPIOOut, sctERCBlock(sctSet, s.sel, uint16(v)), false)
		if err != nil {
			return err
		}
	}
	return nil
}

// ErrorRecovery returns the current SCT Error Recovery Control read and
// write times.
func (a *ATA) ErrorRecovery(id *Identity) (read, write time.Duration, err error) {
	if !id.SCTERCSupported {
		return 0, 0, a.err("SCT ERROR RECOVERY CONTROL", KindAborted, ErrUnsupported)
	}
	var got [2]time.Duration
	for i, sel := range []uint16{sctReadTimer, sctWriteTmr} {
		tf, err := a.smart("SCT ERROR RECOVERY CONTROL get", smartWriteLog, logSCTCommand, 1,
			protoPIOOut, sctERCBlock(sctReturn, sel, 0), true)
		if err != nil {
			return 0, 0, err
		}
		got[i] = time.Duration(uint16(tf.Count)|uint16(tf.LBALow)<<8) * 100 * time.Millisecond
	}
	return got[0], got[1], nil
}
