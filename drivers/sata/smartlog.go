package sata

import (
	"encoding/binary"
	"fmt"
	"time"
)

// SMART log addresses.
const (
	logSummaryError = 0x01
	logSelfTest     = 0x06
	logSCTCommand   = 0xe0
)

// ErrorLog is the SMART summary error log (log address 0x01): the five most
// recent errors and the count of all errors the disk has seen.
type ErrorLog struct {
	Revision int          `json:"revision"`
	Count    int          `json:"count"`   // device error count, bytes 452-453
	Entries  []ErrorEntry `json:"entries"` // most recent first
}

// ErrorEntry is one error data structure of the summary error log.
type ErrorEntry struct {
	Error  byte   `json:"error"`  // ATA error register
	Status byte   `json:"status"` // ATA status register
	Count  byte   `json:"count"`
	LBA    uint32 `json:"lba"` // 28-bit LBA of the failed command
	State  byte   `json:"state"`
	// LifetimeHours is the power-on hours when the error happened.
	LifetimeHours int `json:"lifetime_hours"`
	// Commands are the commands leading up to the error, the failing one
	// last.
	Commands []LoggedCommand `json:"commands"`
}

// LoggedCommand is one command data structure of an error entry.
type LoggedCommand struct {
	Command  byte          `json:"command"`
	Features byte          `json:"features"`
	Count    byte          `json:"count"`
	LBA      uint32        `json:"lba"`
	Since    time.Duration `json:"since_power_on_ns"`
}

func lba28(low, mid, high, dev byte) uint32 {
	return uint32(dev&0x0f)<<24 | uint32(high)<<16 | uint32(mid)<<8 | uint32(low)
}

// DecodeErrorLog decodes the summary error log sector:
//
//	0        revision (1)
//	1        index of the most recent error structure, 1-5; 0 if none
//	2-451    five error structures of 90 bytes:
//	           0-59   five command structures of 12 bytes: device control,
//	                  features, count, LBA low, mid, high, device, command,
//	                  timestamp (LE32, ms since power-on)
//	           60     reserved; 61 error; 62 count; 63-65 LBA low/mid/high;
//	           66 device; 67 status; 68-86 extended; 87 state;
//	           88-89  life timestamp, hours (LE16)
//	452-453  device error count (LE16)
//	511      checksum
func DecodeErrorLog(p []byte) (*ErrorLog, error) {
	if len(p) != 512 {
		return nil, fmt.Errorf("sata: SMART error log is %d bytes, want 512", len(p))
	}
	l := &ErrorLog{Revision: int(p[0]), Count: int(binary.LittleEndian.Uint16(p[452:]))}
	idx := int(p[1])
	if idx < 1 || idx > 5 {
		return l, nil
	}
	for n := 0; n < 5; n++ {
		i := (idx - 1 - n + 5) % 5
		s := p[2+90*i : 2+90*i+90]
		if allZero(s) {
			break
		}
		e := ErrorEntry{Error: s[61], Count: s[62], LBA: lba28(s[63], s[64], s[65], s[66]),
			Status: s[67], State: s[87], LifetimeHours: int(binary.LittleEndian.Uint16(s[88:]))}
		for c := 0; c < 5; c++ {
			cs := s[12*c : 12*c+12]
			if allZero(cs) {
				continue
			}
			e.Commands = append(e.Commands, LoggedCommand{Command: cs[7], Features: cs[1], Count: cs[2],
				LBA:   lba28(cs[3], cs[4], cs[5], cs[6]),
				Since: time.Duration(binary.LittleEndian.Uint32(cs[8:])) * time.Millisecond})
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// SelfTest names a self-test to start.
type SelfTest byte

// Values of LBA LOW for SMART EXECUTE OFF-LINE IMMEDIATE (off-line mode: the
// disk keeps serving I/O while it tests).
const (
	SelfTestShort      SelfTest = 1
	SelfTestExtended   SelfTest = 2
	SelfTestConveyance SelfTest = 3
	SelfTestAbort      SelfTest = 0x7f
)

func (t SelfTest) String() string {
	switch t & 0x7f {
	case 0:
		return "offline"
	case 1:
		return "short"
	case 2:
		return "extended"
	case 3:
		return "conveyance"
	case 4:
		return "selective"
	case 0x7f:
		return "abort"
	}
	return fmt.Sprintf("test(%#x)", byte(t))
}

// selfTestResults names the high nibble of a self-test status byte.
var selfTestResults = [16]string{
	0: "completed without error", 1: "aborted by host", 2: "interrupted by reset",
	3: "fatal error", 4: "unknown failure", 5: "electrical failure", 6: "servo failure",
	7: "read failure", 8: "handling damage", 15: "in progress",
}

// SelfTestResult describes a self-test status byte (SMART data byte 363,
// self-test log entry byte 1).
func SelfTestResult(status byte) string {
	if s := selfTestResults[status>>4]; s != "" {
		return s
	}
	return fmt.Sprintf("reserved status %d", status>>4)
}

// SelfTestEntry is one descriptor of the self-test log.
type SelfTestEntry struct {
	Test   SelfTest `json:"test"`
	Status byte     `json:"status"`
	Result string   `json:"result"`
	// Remaining is the percentage left when the test ended (in progress:
	// still to do).
	Remaining     int    `json:"remaining_percent"`
	LifetimeHours int    `json:"lifetime_hours"`
	FailingLBA    uint32 `json:"failing_lba"`
}

// Passed reports whether the test completed without error.
func (e *SelfTestEntry) Passed() bool { return e.Status>>4 == 0 }

// SelfTestLog is the SMART self-test log (log address 0x06).
type SelfTestLog struct {
	Revision int             `json:"revision"`
	Entries  []SelfTestEntry `json:"entries"` // most recent first
}

// DecodeSelfTestLog decodes the self-test log sector:
//
//	0-1      revision (LE16)
//	2-505    21 descriptors of 24 bytes: 0 test (LBA LOW of the command;
//	         bit 7 captive), 1 status (as SMART data byte 363), 2-3 life
//	         timestamp hours (LE16), 4 checkpoint, 5-8 LBA of the first
//	         failure (LE32), 9-23 vendor specific
//	508      index of the most recent descriptor, 1-21; 0 if none
//	511      checksum
func DecodeSelfTestLog(p []byte) (*SelfTestLog, error) {
	if len(p) != 512 {
		return nil, fmt.Errorf("sata: SMART self-test log is %d bytes, want 512", len(p))
	}
	l := &SelfTestLog{Revision: int(binary.LittleEndian.Uint16(p))}
	idx := int(p[508])
	if idx < 1 || idx > 21 {
		return l, nil
	}
	for n := 0; n < 21; n++ {
		i := (idx - 1 - n + 21) % 21
		d := p[2+24*i : 2+24*i+24]
		if allZero(d) {
			break
		}
		l.Entries = append(l.Entries, SelfTestEntry{
			Test: SelfTest(d[0]), Status: d[1], Result: SelfTestResult(d[1]),
			Remaining:     int(d[1]&0x0f) * 10,
			LifetimeHours: int(binary.LittleEndian.Uint16(d[2:])),
			FailingLBA:    binary.LittleEndian.Uint32(d[5:]),
		})
	}
	return l, nil
}

// ErrorLog reads and decodes the summary error log.
func (a *ATA) ErrorLog() (*ErrorLog, error) {
	p, err := a.readLog("SMART READ LOG 0x01", logSummaryError)
	if err != nil {
		return nil, err
	}
	return DecodeErrorLog(p)
}

// SelfTestLog reads and decodes the self-test log.
func (a *ATA) SelfTestLog() (*SelfTestLog, error) {
	p, err := a.readLog("SMART READ LOG 0x06", logSelfTest)
	if err != nil {
		return nil, err
	}
	return DecodeSelfTestLog(p)
}

// StartSelfTest starts a self-test in off-line mode (the disk stays in
// service) with SMART EXECUTE OFF-LINE IMMEDIATE; SelfTestAbort stops a
// running one. Progress shows in SMARTData.SelfTestStatus, the outcome in
// the self-test log.
func (a *ATA) StartSelfTest(t SelfTest) error {
	switch t {
	case SelfTestShort, SelfTestExtended, SelfTestConveyance, SelfTestAbort:
	default:
		return fmt.Errorf("sata: cannot start self-test %v", t)
	}
	_, err := a.smart("SMART EXECUTE OFF-LINE IMMEDIATE", smartExecOffline, byte(t), 0, protoNonData, nil, false)
	return err
}
