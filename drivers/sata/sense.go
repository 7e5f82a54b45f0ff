package sata

import (
	"errors"
	"fmt"
)

// Sense keys (SPC-4).
const (
	senseNoSense     = 0x0
	senseRecovered   = 0x1
	senseNotReady    = 0x2
	senseMedium      = 0x3
	senseHardware    = 0x4
	senseIllegal     = 0x5
	senseUnitAtt     = 0x6
	senseAbortedCmd  = 0xb
	ataStatusDescTyp = 0x09
)

var senseKeyNames = map[byte]string{
	senseNoSense: "NO SENSE", senseRecovered: "RECOVERED ERROR", senseNotReady: "NOT READY",
	senseMedium: "MEDIUM ERROR", senseHardware: "HARDWARE ERROR", senseIllegal: "ILLEGAL REQUEST",
	senseUnitAtt: "UNIT ATTENTION", senseAbortedCmd: "ABORTED COMMAND",
}

// sense is decoded SCSI sense data of an ATA PASS-THROUGH command.
type sense struct {
	Key, ASC, ASCQ byte
	TF             taskfile // ATA completion registers, if the sense held them
	HasTF          bool
}

func (s *sense) Error() string {
	name, ok := senseKeyNames[s.Key]
	if !ok {
		name = fmt.Sprintf("sense key %#x", s.Key)
	}
	msg := fmt.Sprintf("%s, ASC/ASCQ %02x/%02x", name, s.ASC, s.ASCQ)
	if s.HasTF {
		msg += fmt.Sprintf(", ATA status %#02x error %#02x", s.TF.Status, s.TF.Error)
	}
	return msg
}

func (s *sense) kind() Kind {
	switch {
	case s.Key == senseMedium:
		return KindMedium
	case s.HasTF && s.TF.Status&statusERR != 0 && s.TF.Error&errorUNC != 0:
		return KindMedium
	case s.HasTF && s.TF.Status&statusERR != 0 && s.TF.Error&(errorABRT|errorIDNF) != 0:
		return KindAborted
	case s.Key == senseIllegal, s.Key == senseAbortedCmd:
		return KindAborted
	}
	return KindOther
}

// decodeSense reads fixed (0x70, 0x71) or descriptor (0x72, 0x73) format
// sense data. With descriptor format the ATA registers come in an ATA
// Status Return descriptor (type 0x09); with fixed format SAT puts them in
// the INFORMATION and COMMAND-SPECIFIC INFORMATION fields:
//
//	fixed:      3 ERROR, 4 STATUS, 5 DEVICE, 6 COUNT, 9 LBA LOW, 10 MID, 11 HIGH
//	descriptor: 8+3 ERROR, 8+5 COUNT, 8+7 LBA LOW, 8+9 MID, 8+11 HIGH,
//	            8+12 DEVICE, 8+13 STATUS
func decodeSense(b []byte) (*sense, error) {
	if len(b) < 8 {
		return nil, errors.New("short sense data")
	}
	s := &sense{}
	switch b[0] & 0x7f {
	case 0x70, 0x71:
		if len(b) < 14 {
			return nil, errors.New("short fixed-format sense data")
		}
		s.Key, s.ASC, s.ASCQ = b[2]&0x0f, b[12], b[13]
		if s.ASC == 0 && s.ASCQ == 0x1d || b[0]&0x80 != 0 {
			s.HasTF = true
			s.TF = taskfile{Error: b[3], Status: b[4], Device: b[5], Count: b[6],
				LBALow: b[9], LBAMid: b[10], LBAHigh: b[11]}
		}
	case 0x72, 0x73:
		s.Key, s.ASC, s.ASCQ = b[1]&0x0f, b[2], b[3]
		end := min(8+int(b[7]), len(b))
		for i := 8; i+2 <= end; {
			typ, n := b[i], int(b[i+1])
			if i+2+n > end {
				break
			}
			if typ == ataStatusDescTyp && n >= 12 {
				d := b[i:]
				s.HasTF = true
				s.TF = taskfile{Error: d[3], Count: d[5], LBALow: d[7], LBAMid: d[9],
					LBAHigh: d[11], Device: d[12], Status: d[13]}
			}
			i += 2 + n
		}
	default:
		return nil, fmt.Errorf("unknown sense response code %#x", b[0])
	}
	return s, nil
}
