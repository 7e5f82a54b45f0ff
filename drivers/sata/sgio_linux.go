package sata

import (
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sgIO is the SG_IO ioctl request number (include/scsi/sg.h).
const sgIO = 0x2285

// sgIOHdr mirrors struct sg_io_hdr. Pointer fields are unsafe.Pointer so
// that the layout matches C on 32- and 64-bit targets.
type sgIOHdr struct {
	interfaceID    int32
	dxferDirection int32
	cmdLen         uint8
	mxSbLen        uint8
	iovecCount     uint16
	dxferLen       uint32
	dxferp         unsafe.Pointer
	cmdp           unsafe.Pointer
	sbp            unsafe.Pointer
	timeout        uint32
	flags          uint32
	packID         int32
	usrPtr         unsafe.Pointer
	status         uint8
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8
	hostStatus     uint16
	driverStatus   uint16
	resid          int32
	duration       uint32
	info           uint32
}

// SG_DXFER_* values.
const (
	sgDxferNone     = -1
	sgDxferToDev    = -2
	sgDxferFromDev  = -3
	sgInterfaceChar = 'S'
)

// kernelTransport is the real SG_IO ioctl.
type kernelTransport struct{}

var _ Transport = kernelTransport{}

func (kernelTransport) SGIO(fd uintptr, h *SGIO) error {
	if len(h.CDB) == 0 || len(h.CDB) > 255 {
		return unix.EINVAL
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	hdr := sgIOHdr{interfaceID: sgInterfaceChar, dxferDirection: sgDxferNone}
	switch h.Dir {
	case DirFromDevice:
		hdr.dxferDirection = sgDxferFromDev
	case DirToDevice:
		hdr.dxferDirection = sgDxferToDev
	}
	if len(h.Data) > 0 {
		pin.Pin(&h.Data[0])
		hdr.dxferp = unsafe.Pointer(&h.Data[0])
		hdr.dxferLen = uint32(len(h.Data))
	}
	pin.Pin(&h.CDB[0])
	hdr.cmdp = unsafe.Pointer(&h.CDB[0])
	hdr.cmdLen = uint8(len(h.CDB))
	if len(h.Sense) > 0 {
		pin.Pin(&h.Sense[0])
		hdr.sbp = unsafe.Pointer(&h.Sense[0])
		hdr.mxSbLen = uint8(min(len(h.Sense), 255))
	}
	hdr.timeout = uint32(h.Timeout / time.Millisecond)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, sgIO, uintptr(unsafe.Pointer(&hdr)))
	if errno != 0 {
		return errno
	}
	h.Status = hdr.status
	h.HostStatus = hdr.hostStatus
	h.DriverStatus = hdr.driverStatus
	h.SenseLen = int(hdr.sbLenWr)
	h.Resid = int(hdr.resid)
	h.Duration = time.Duration(hdr.duration) * time.Millisecond
	return nil
}
