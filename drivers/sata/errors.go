package sata

import (
	"errors"
	"fmt"
	"syscall"
)

// Kind classifies a failed disk operation by what the caller should do
// about it.
type Kind int

const (
	// KindOther is any failure not classified below.
	KindOther Kind = iota
	// KindMedium: the disk could not read (or write) a sector. The data is
	// lost there but the disk works; the RAID repairs the sector from parity.
	KindMedium
	// KindTimeout: the command did not complete in time.
	KindTimeout
	// KindGone: the device is no longer there (pulled, deleted, link down).
	KindGone
	// KindAborted: the device refused the command (unsupported, or aborted).
	KindAborted
	// KindRange: the request lies beyond the end of the device.
	KindRange
)

var kindNames = [...]string{"other", "medium", "timeout", "gone", "aborted", "range"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinels matched by errors.Is against any *Error of the same Kind.
var (
	ErrMedium  = errors.New("sata: medium error")
	ErrTimeout = errors.New("sata: timed out")
	ErrGone    = errors.New("sata: device gone")
	ErrAborted = errors.New("sata: command aborted by the device")
	ErrRange   = errors.New("sata: beyond the end of the device")

	// ErrUnsupported is returned for a feature the device does not report
	// (SMART, self-tests, SCT Error Recovery Control).
	ErrUnsupported = errors.New("sata: not supported by the device")
)

var kindSentinel = map[Kind]error{
	KindMedium: ErrMedium, KindTimeout: ErrTimeout, KindGone: ErrGone,
	KindAborted: ErrAborted, KindRange: ErrRange,
}

// Error is a failed disk operation: an ATA command or a block read, write or
// flush.
type Error struct {
	Op   string // "read", "write", "flush", "IDENTIFY DEVICE", ...
	Path string
	Off  int64 // byte offset for reads and writes, -1 otherwise
	Len  int
	Kind Kind
	Err  error // the underlying error (errno, sense), may be nil
}

func (e *Error) Error() string {
	s := "sata: " + e.Path + ": " + e.Op
	if e.Off >= 0 {
		s += fmt.Sprintf(" %d+%d", e.Off, e.Len)
	}
	s += ": " + e.Kind.String()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	s, ok := kindSentinel[e.Kind]
	return ok && s == target
}

// KindOf returns the Kind of err, KindOther if err is not (or does not wrap)
// an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// errnoKind classifies an errno from a block device. The block layer hands
// its status to O_DIRECT callers as distinct errnos (blk_status_to_errno):
// BLK_STS_MEDIUM is ENODATA, BLK_STS_TIMEOUT ETIMEDOUT, BLK_STS_OFFLINE
// ENODEV, BLK_STS_TRANSPORT ENOLINK; a deleted disk gives ENXIO or ENODEV.
// Plain EIO stays KindOther: it can be anything.
func errnoKind(err error) Kind {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return KindOther
	}
	switch errno {
	case syscall.ENODATA, syscall.EILSEQ:
		return KindMedium
	case syscall.ETIMEDOUT:
		return KindTimeout
	case syscall.ENODEV, syscall.ENXIO, syscall.ENOLINK, syscall.ESHUTDOWN:
		return KindGone
	case syscall.ENOSPC, syscall.EFBIG:
		return KindRange
	}
	return KindOther
}
