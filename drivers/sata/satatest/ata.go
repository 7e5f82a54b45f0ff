package satatest

// CDB builders for ATA PASS-THROUGH (16), written from SAT-3 independently
// of package sata so that a transcript checks sata's encoding.

func cdb16(protocol, flags, command, features, count, lbaLow, lbaMid, lbaHigh byte) []byte {
	return []byte{0x85, protocol << 1, flags, 0, features, 0, count, 0, lbaLow, 0, lbaMid, 0, lbaHigh, 0, command, 0}
}

// PIOIn is a PIO data-in command answered with reply (GOOD status).
func PIOIn(command, features, lbaLow, lbaMid, lbaHigh byte, reply []byte) Op {
	return Op{CDB: cdb16(4, 0x0e, command, features, 1, lbaLow, lbaMid, lbaHigh), Read: reply}
}

// PIOOut is a PIO data-out command that must send data.
func PIOOut(command, features, lbaLow, lbaMid, lbaHigh byte, data []byte, check bool) Op {
	flags := byte(0x06)
	if check {
		flags |= 0x20
	}
	return Op{CDB: cdb16(5, flags, command, features, 1, lbaLow, lbaMid, lbaHigh), Write: data}
}

// NonData is a non-data command (GOOD status unless the Op is changed).
func NonData(command, features, count, lbaLow, lbaMid, lbaHigh byte, check bool) Op {
	flags := byte(0)
	if check {
		flags = 0x20
	}
	return Op{CDB: cdb16(3, flags, command, features, count, lbaLow, lbaMid, lbaHigh)}
}

// Identify is IDENTIFY DEVICE answered with page.
func Identify(page []byte) Op { return PIOIn(0xec, 0, 0, 0, 0, page) }

// SMARTReadData, SMARTReadThresholds and SMARTReadLog answer with page.
func SMARTReadData(page []byte) Op       { return PIOIn(0xb0, 0xd0, 0, 0x4f, 0xc2, page) }
func SMARTReadThresholds(page []byte) Op { return PIOIn(0xb0, 0xd1, 0, 0x4f, 0xc2, page) }
func SMARTReadLog(addr byte, page []byte) Op {
	return PIOIn(0xb0, 0xd5, addr, 0x4f, 0xc2, page)
}

// SMARTStatus is SMART RETURN STATUS answered with "passed" or "threshold
// exceeded" in descriptor-format sense data, as libata returns it when the
// control mode page asks for descriptor format.
func SMARTStatus(passed bool) Op {
	op := NonData(0xb0, 0xda, 0, 0, 0x4f, 0xc2, true)
	mid, high := byte(0x4f), byte(0xc2)
	if !passed {
		mid, high = 0xf4, 0x2c
	}
	op.Status = 2
	op.Sense = DescriptorSense(0x01, 0x00, 0x1d, ATARegs{Status: 0x50, LBAMid: mid, LBAHigh: high})
	return op
}

// SelfTest is SMART EXECUTE OFF-LINE IMMEDIATE with subcommand test.
func SelfTest(test byte) Op { return NonData(0xb0, 0xd4, 0, test, 0x4f, 0xc2, false) }

// ATARegs are ATA completion registers for sense data.
type ATARegs struct {
	Error, Status, Device, Count, LBALow, LBAMid, LBAHigh byte
}

// DescriptorSense builds descriptor-format sense (0x72) with an ATA Status
// Return descriptor.
func DescriptorSense(key, asc, ascq byte, r ATARegs) []byte {
	return []byte{0x72, key, asc, ascq, 0, 0, 0, 14,
		0x09, 0x0c, 0, r.Error, 0, r.Count, 0, r.LBALow, 0, r.LBAMid, 0, r.LBAHigh, r.Device, r.Status}
}

// FixedSense builds fixed-format sense (0x70) with the ATA registers where
// SAT puts them.
func FixedSense(key, asc, ascq byte, r ATARegs) []byte {
	b := make([]byte, 18)
	b[0] = 0xf0
	b[2] = key
	b[3], b[4], b[5], b[6] = r.Error, r.Status, r.Device, r.Count
	b[7] = 10
	b[9], b[10], b[11] = r.LBALow, r.LBAMid, r.LBAHigh
	b[12], b[13] = asc, ascq
	return b
}

// Aborted turns op into a command the device aborted (ATA ERR + ABRT), as
// for an unsupported feature.
func Aborted(op Op) Op {
	op.Status = 2
	op.Read = nil
	op.Sense = DescriptorSense(0x0b, 0, 0, ATARegs{Status: 0x51, Error: 0x04})
	return op
}

// MediumError turns op into a command that failed on an unreadable sector.
func MediumError(op Op) Op {
	op.Status = 2
	op.Read = nil
	op.Sense = DescriptorSense(0x03, 0x11, 0x04, ATARegs{Status: 0x51, Error: 0x40})
	return op
}
