package sata

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure OpenATA and OpenDisk. The zero value (or nil) is the
// production setting.
type Options struct {
	// Transport carries ATA commands; nil is the kernel's SG_IO ioctl.
	Transport Transport
	// Timeout bounds one ATA command; 0 means 20 s (a disk spinning up
	// needs several seconds).
	Timeout time.Duration
	// ERC is the SCT Error Recovery Control time OpenDisk sets on a block
	// device for reads and writes; 0 means 7 s, a negative value leaves the
	// disk's setting alone.
	ERC time.Duration
	// Buffered makes OpenDisk use the page cache instead of O_DIRECT.
	// OpenDisk falls back to it by itself where the file system refuses
	// O_DIRECT (tmpfs); Member.Direct reports which one is in use.
	Buffered bool
}

// KernelTransport returns the SG_IO ioctl transport (what a nil
// Options.Transport means), for wrapping in satatest.Record.
func KernelTransport() Transport { return kernelTransport{} }

func (o *Options) transport() Transport {
	if o == nil || o.Transport == nil {
		return kernelTransport{}
	}
	return o.Transport
}

func (o *Options) timeout() time.Duration {
	if o == nil || o.Timeout <= 0 {
		return 20 * time.Second
	}
	return o.Timeout
}

// ATA sends ATA commands to one disk in SCSI ATA PASS-THROUGH (16) CDBs
// (SAT-3, T10/BSR INCITS 517). Its methods are safe for concurrent use; the
// commands are serialised.
type ATA struct {
	path    string
	t       Transport
	timeout time.Duration

	mu   sync.Mutex // guards f and the device's command state
	f    *os.File   // nil when the ATA shares a Member's descriptor
	fd   uintptr
	done bool
}

// OpenATA opens the device node at path (read-only, non-blocking: SG_IO
// needs no write access) for ATA commands. Sending most SMART commands
// needs CAP_SYS_RAWIO.
func OpenATA(path string, o *Options) (*ATA, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sata: %w", err)
	}
	a := newATA(path, f.Fd(), o)
	a.f = f
	return a, nil
}

func newATA(path string, fd uintptr, o *Options) *ATA {
	return &ATA{path: path, t: o.transport(), timeout: o.timeout(), fd: fd}
}

// Path is the device node the ATA was opened on.
func (a *ATA) Path() string { return a.path }

// Close releases the device node.
func (a *ATA) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return nil
	}
	a.done = true
	if a.f != nil {
		return a.f.Close()
	}
	return nil
}

// ataProto is the PROTOCOL field of ATA PASS-THROUGH.
type ataProto byte

const (
	protoNonData ataProto = 3
	protoPIOIn   ataProto = 4
	protoPIOOut  ataProto = 5
)

// taskfile is the ATA register set of a command or of its completion.
type taskfile struct {
	Features, Count, LBALow, LBAMid, LBAHigh, Device, Command byte
	Error, Status                                             byte // completion only
}

// ATA status and error register bits.
const (
	statusERR = 0x01
	statusDF  = 0x20
	errorABRT = 0x04
	errorUNC  = 0x40
	errorIDNF = 0x10
)

// ataCmd is one command to send.
type ataCmd struct {
	name  string
	tf    taskfile
	proto ataProto
	data  []byte // 512-byte multiple for PIO in/out
	// check asks for the completion registers (CK_COND): the device's
	// answer is in them (SMART RETURN STATUS, SCT status).
	check bool
}

// ataPassThrough16 is the ATA PASS-THROUGH (16) operation code.
const ataPassThrough16 = 0x85

// cdb builds the ATA PASS-THROUGH (16) CDB of c (28-bit command: EXTEND 0).
//
//	byte 0   0x85
//	byte 1   PROTOCOL << 1
//	byte 2   CK_COND(0x20) T_DIR(0x08, from device) BYTE_BLOCK(0x04) T_LENGTH(2: in COUNT)
//	byte 4   FEATURES      byte 6  COUNT
//	byte 8   LBA LOW       byte 10 LBA MID      byte 12 LBA HIGH
//	byte 13  DEVICE        byte 14 COMMAND      byte 15 CONTROL (0)
func (c *ataCmd) cdb() []byte {
	b := make([]byte, 16)
	b[0] = ataPassThrough16
	b[1] = byte(c.proto) << 1
	switch c.proto {
	case protoPIOIn:
		b[2] = 0x08 | 0x04 | 0x02
	case protoPIOOut:
		b[2] = 0x04 | 0x02
	}
	if c.check {
		b[2] |= 0x20
	}
	b[4] = c.tf.Features
	b[6] = c.tf.Count
	b[8] = c.tf.LBALow
	b[10] = c.tf.LBAMid
	b[12] = c.tf.LBAHigh
	b[13] = c.tf.Device
	b[14] = c.tf.Command
	return b
}

// exec sends c and returns the completion registers (valid only if c.check
// or the command failed with sense data).
func (a *ATA) exec(c ataCmd) (taskfile, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		return taskfile{}, a.err(c.name, KindOther, os.ErrClosed)
	}
	h := &SGIO{CDB: c.cdb(), Data: c.data, Sense: make([]byte, 32), Timeout: a.timeout}
	switch c.proto {
	case protoPIOIn:
		h.Dir = DirFromDevice
	case protoPIOOut:
		h.Dir = DirToDevice
	}
	if err := a.t.SGIO(a.fd, h); err != nil {
		return taskfile{}, a.err(c.name, errnoKind(err), err)
	}
	if k, bad := transportKind(h); bad {
		return taskfile{}, a.err(c.name, k, fmt.Errorf("host status %#x, driver status %#x", h.HostStatus, h.DriverStatus))
	}
	sense := h.Sense[:min(h.SenseLen, len(h.Sense))]
	switch h.Status {
	case 0: // GOOD
		if c.check {
			// CK_COND without sense: the registers are lost.
			return taskfile{}, a.err(c.name, KindOther, errors.New("no ATA registers returned"))
		}
		return taskfile{}, nil
	case 2: // CHECK CONDITION
	default:
		return taskfile{}, a.err(c.name, KindOther, fmt.Errorf("SCSI status %#x", h.Status))
	}
	s, err := decodeSense(sense)
	if err != nil {
		return taskfile{}, a.err(c.name, KindOther, err)
	}
	if s.Key == senseRecovered && s.ASC == 0 && s.ASCQ == 0x1d && s.TF.Status&(statusERR|statusDF) == 0 {
		return s.TF, nil // ATA PASS-THROUGH INFORMATION AVAILABLE: success
	}
	return s.TF, a.err(c.name, s.kind(), s)
}

func (a *ATA) err(op string, k Kind, err error) error {
	return &Error{Op: op, Path: a.path, Off: -1, Kind: k, Err: err}
}
