package sata

import (
	"fmt"
	"time"
)

// Direction is the direction of an SG_IO data transfer.
type Direction int

const (
	DirNone       Direction = iota // no data
	DirFromDevice                  // the device fills SGIO.Data
	DirToDevice                    // SGIO.Data is sent to the device
)

func (d Direction) String() string {
	switch d {
	case DirNone:
		return "none"
	case DirFromDevice:
		return "from-device"
	case DirToDevice:
		return "to-device"
	}
	return fmt.Sprintf("dir(%d)", int(d))
}

// SGIO is one SCSI command and its outcome: the Go side of the kernel's
// struct sg_io_hdr (include/scsi/sg.h).
type SGIO struct {
	// Inputs.
	CDB     []byte
	Dir     Direction
	Data    []byte // the transfer buffer; its length is the transfer length
	Sense   []byte // room for sense data; 32 bytes is plenty
	Timeout time.Duration

	// Outputs.
	Status       byte   // SCSI status: 0 GOOD, 2 CHECK CONDITION
	HostStatus   uint16 // DID_* from the host adapter driver
	DriverStatus uint16 // DRIVER_* from the mid layer
	SenseLen     int    // bytes of Sense written
	Resid        int    // bytes not transferred
	Duration     time.Duration
}

// Transport carries one SCSI command to an open device node. The kernel's
// implementation is the SG_IO ioctl (Options.Transport nil);
// satatest.Playback replays a transcript in tests.
type Transport interface {
	SGIO(fd uintptr, h *SGIO) error
}

// Host and driver status values from the kernel (include/scsi/scsi_status.h,
// drivers/scsi/sg.c) that change how a failure is classified.
const (
	didNoConnect  = 0x01
	didBusBusy    = 0x02
	didTimeOut    = 0x03
	didBadTarget  = 0x04
	didAbort      = 0x05
	didTransport  = 0x0e // DID_TRANSPORT_DISRUPTED
	didTranspFail = 0x0f // DID_TRANSPORT_FAILFAST
	driverTimeout = 0x06
	driverMask    = 0x0f
)

// transportKind classifies the host and driver status of a finished SG_IO.
func transportKind(h *SGIO) (Kind, bool) {
	switch h.HostStatus {
	case 0:
	case didNoConnect, didBadTarget, didTranspFail:
		return KindGone, true
	case didTimeOut:
		return KindTimeout, true
	case didAbort:
		return KindAborted, true
	default:
		return KindOther, true
	}
	if h.DriverStatus&driverMask == driverTimeout {
		return KindTimeout, true
	}
	return 0, false
}
