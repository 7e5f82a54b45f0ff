package satatest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/postvault/postvault/drivers/sata"
)

// Op is one SCSI command of a transcript and the device's answer.
type Op struct {
	CDB []byte // the command expected
	// Write is the data the command must send (DirToDevice); nil is not
	// checked.
	Write []byte
	// Read is the data the device returns (DirFromDevice).
	Read []byte
	// Sense, Status, HostStatus and DriverStatus are the outcome.
	Sense                    []byte
	Status                   byte
	HostStatus, DriverStatus uint16
	// Err, if set, is returned by SGIO instead (an ioctl errno).
	Err error
}

// Playback replays Ops in order. A command that differs from the next Op,
// or one past the end, fails: SGIO returns an error and Close reports it.
// Close also fails if Ops are left over.
type Playback struct {
	Ops []Op

	mu     sync.Mutex // guards next and failed
	next   int
	failed error
}

var _ sata.Transport = (*Playback)(nil)

// SGIO implements sata.Transport.
func (p *Playback) SGIO(fd uintptr, h *sata.SGIO) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(err error) error {
		if p.failed == nil {
			p.failed = err
		}
		return err
	}
	if p.next >= len(p.Ops) {
		return fail(fmt.Errorf("satatest: unexpected command %x after the end of the transcript", h.CDB))
	}
	op := p.Ops[p.next]
	if !bytes.Equal(op.CDB, h.CDB) {
		return fail(fmt.Errorf("satatest: op %d: CDB = %x, want %x", p.next, h.CDB, op.CDB))
	}
	if op.Write != nil && !bytes.Equal(op.Write, h.Data) {
		return fail(fmt.Errorf("satatest: op %d: data sent differ from the transcript (%d bytes, want %d)",
			p.next, len(h.Data), len(op.Write)))
	}
	p.next++
	return answer(&op, h)
}

// answer fills h with op's outcome.
func answer(op *Op, h *sata.SGIO) error {
	if op.Err != nil {
		return op.Err
	}
	if h.Dir == sata.DirFromDevice {
		n := copy(h.Data, op.Read)
		h.Resid = len(h.Data) - n
	}
	h.SenseLen = copy(h.Sense, op.Sense)
	h.Status, h.HostStatus, h.DriverStatus = op.Status, op.HostStatus, op.DriverStatus
	return nil
}

// Close reports the first mismatch, or Ops not consumed.
func (p *Playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return p.failed
	}
	if p.next != len(p.Ops) {
		return fmt.Errorf("satatest: %d of %d ops not consumed", len(p.Ops)-p.next, len(p.Ops))
	}
	return nil
}

// Record passes commands to Transport and records them with their answers,
// so that a session with a real disk becomes a transcript for Playback.
type Record struct {
	Transport sata.Transport

	mu  sync.Mutex // guards Ops
	Ops []Op
}

var _ sata.Transport = (*Record)(nil)

// SGIO implements sata.Transport.
func (r *Record) SGIO(fd uintptr, h *sata.SGIO) error {
	if r.Transport == nil {
		return errors.New("satatest: Record without a Transport")
	}
	err := r.Transport.SGIO(fd, h)
	op := Op{CDB: bytes.Clone(h.CDB), Err: err, Status: h.Status, HostStatus: h.HostStatus,
		DriverStatus: h.DriverStatus, Sense: bytes.Clone(h.Sense[:min(h.SenseLen, len(h.Sense))])}
	switch h.Dir {
	case sata.DirFromDevice:
		op.Read = bytes.Clone(h.Data[:len(h.Data)-max(h.Resid, 0)])
	case sata.DirToDevice:
		op.Write = bytes.Clone(h.Data)
	}
	r.mu.Lock()
	r.Ops = append(r.Ops, op)
	r.mu.Unlock()
	return err
}
