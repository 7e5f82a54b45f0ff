package raidtest

import (
	"fmt"
	"sync"
	"time"
)

// Op selects which calls a fault applies to.
type Op int

const (
	Read  Op = 1 << iota // ReadAt
	Write                // WriteAt
	Both  = Read | Write
)

// Faulty wraps a member and injects faults into the calls that reach it.
// Faults are set and cleared at any time, also while I/O runs; Faulty is
// safe for concurrent use. With no fault set it passes every call through.
type Faulty struct {
	inner Member

	mu         sync.Mutex // guards everything below
	ranges     []failRange
	gone       bool
	goneAfter  int // writes left before vanishing; <0 off
	delay      time.Duration
	flips      map[int64]byte
	tearKeep   int // bytes kept by the next write; <0 off
	flushErr   error
	reads      int
	writes     int
	flushes    int
	readBytes  int64
	writeBytes int64
}

type failRange struct {
	op       Op
	off, end int64
	err      error
}

var _ Member = (*Faulty)(nil)

// NewFaulty wraps inner. inner is what Faulty's calls reach when no fault
// stops them.
func NewFaulty(inner Member) *Faulty {
	return &Faulty{inner: inner, goneAfter: -1, tearKeep: -1}
}

// Inner returns the wrapped member (to inspect or corrupt it behind the
// wrapper's back).
func (f *Faulty) Inner() Member { return f.inner }

// FailRange makes calls of kind op that touch bytes [off, off+length) fail
// with an error wrapping ErrIO (syscall.EIO). Nothing of a failing write is
// stored.
func (f *Faulty) FailRange(op Op, off, length int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges = append(f.ranges, failRange{op, off, off + length, ErrIO})
}

// ClearFaults removes every fault: failing ranges, flips, delay, a torn
// write or flush failure still pending, and a vanished state.
func (f *Faulty) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges, f.flips, f.delay = nil, nil, 0
	f.gone, f.goneAfter, f.tearKeep, f.flushErr = false, -1, -1, nil
}

// Vanish makes the device disappear: every later call, Close included,
// fails with an error wrapping ErrGone. ClearFaults brings it back.
func (f *Faulty) Vanish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = true
}

// VanishAfterWrites lets n more writes through and then vanishes (the
// n+1-th write fails with ErrGone and stores nothing).
func (f *Faulty) VanishAfterWrites(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.goneAfter = n
}

// Gone reports whether the device has vanished.
func (f *Faulty) Gone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gone
}

// SetDelay makes every read and write sleep d before reaching the member
// (0 removes the delay).
func (f *Faulty) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// FlipOnRead makes reads return the byte at off XOR mask. The stored byte
// is not changed; several flips at one offset combine.
func (f *Faulty) FlipOnRead(off int64, mask byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flips == nil {
		f.flips = make(map[int64]byte)
	}
	f.flips[off] ^= mask
}

// TearNextWrite makes the next write store only its first keep bytes and
// return keep, ErrTorn.
func (f *Faulty) TearNextWrite(keep int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tearKeep = keep
}

// FailFlush makes every Flush return err until cleared with nil or by
// ClearFaults.
func (f *Faulty) FailFlush(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushErr = err
}

// Counts returns how many reads, writes and flushes reached the wrapper
// (failed ones included).
func (f *Faulty) Counts() (reads, writes, flushes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads, f.writes, f.flushes
}

// Bytes returns how many bytes reads and writes asked for.
func (f *Faulty) Bytes() (read, written int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readBytes, f.writeBytes
}

// admit counts a call and decides its fate before it reaches the member.
func (f *Faulty) admit(op Op, off int64, n int) (delay time.Duration, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == Read {
		f.reads++
		f.readBytes += int64(n)
	} else {
		f.writes++
		f.writeBytes += int64(n)
		if f.goneAfter == 0 {
			f.gone = true
		} else if f.goneAfter > 0 {
			f.goneAfter--
		}
	}
	if f.gone {
		return 0, ErrGone
	}
	for _, r := range f.ranges {
		if r.op&op != 0 && off < r.end && off+int64(n) > r.off {
			return f.delay, fmt.Errorf("raidtest: %s of %d bytes at %d: %w", opName(op), n, off, r.err)
		}
	}
	return f.delay, nil
}

func opName(op Op) string {
	if op == Read {
		return "read"
	}
	return "write"
}

// ReadAt implements io.ReaderAt with the faults applied.
func (f *Faulty) ReadAt(p []byte, off int64) (int, error) {
	d, err := f.admit(Read, off, len(p))
	if d > 0 {
		time.Sleep(d)
	}
	if err != nil {
		return 0, err
	}
	n, err := f.inner.ReadAt(p, off)
	f.mu.Lock()
	for at, mask := range f.flips {
		if at >= off && at < off+int64(n) {
			p[at-off] ^= mask
		}
	}
	f.mu.Unlock()
	return n, err
}

// WriteAt implements io.WriterAt with the faults applied.
func (f *Faulty) WriteAt(p []byte, off int64) (int, error) {
	d, err := f.admit(Write, off, len(p))
	if d > 0 {
		time.Sleep(d)
	}
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	keep := f.tearKeep
	f.tearKeep = -1
	f.mu.Unlock()
	if keep >= 0 && keep < len(p) {
		n, err := f.inner.WriteAt(p[:keep], off)
		if err != nil {
			return n, err
		}
		return n, ErrTorn
	}
	return f.inner.WriteAt(p, off)
}

// Size returns the wrapped member's size (even when gone: a size is known).
func (f *Faulty) Size() int64 { return f.inner.Size() }

// Flush flushes the wrapped member unless the device is gone or a flush
// failure is set.
func (f *Faulty) Flush() error {
	f.mu.Lock()
	f.flushes++
	gone, ferr := f.gone, f.flushErr
	f.mu.Unlock()
	if gone {
		return ErrGone
	}
	if ferr != nil {
		return ferr
	}
	return f.inner.Flush()
}

// Close closes the wrapped member; on a vanished device it fails with
// ErrGone (and still closes the member underneath).
func (f *Faulty) Close() error {
	err := f.inner.Close()
	if f.Gone() {
		return ErrGone
	}
	return err
}

// Corrupt flips bits of the bytes stored on m at off (XOR mask), bypassing
// any wrapper's bookkeeping: silent corruption, as a scrub must find it.
func Corrupt(m Member, off int64, mask byte) error {
	var b [1]byte
	if _, err := m.ReadAt(b[:], off); err != nil {
		return fmt.Errorf("raidtest: corrupt at %d: %w", off, err)
	}
	b[0] ^= mask
	if _, err := m.WriteAt(b[:], off); err != nil {
		return fmt.Errorf("raidtest: corrupt at %d: %w", off, err)
	}
	return nil
}
