// Package raidtest provides members for testing code that runs on disks:
// members in memory and on files, a fault-injecting wrapper around any member,
// and a power-cut simulator.
//
// Every type here has the method set of raid.Member (ReadAt, WriteAt, Size,
// Flush, Close) and can be passed wherever one is wanted. raidtest does not
// import package raid, so raid's own internal tests can import raidtest
// without an import cycle; Member below is the same interface, declared again.
//
// # Members
//
//   - Mem: a member held in memory (NewMem, or MemOf an existing image).
//   - File: a member on a plain file (CreateFile, OpenFile; TempFiles makes
//     several under t.TempDir()).
//
// # Faults
//
// Faulty wraps any member and injects, each switchable at run time:
//
//   - I/O errors on chosen byte ranges, for reads, writes or both
//     (FailRange; the error wraps syscall.EIO, like a medium error);
//   - a vanished device (Vanish, VanishAfterWrites): every call fails with an
//     error wrapping ErrGone (syscall.ENODEV), as a pulled disk does;
//   - slowness (SetDelay): each read and write sleeps first;
//   - bit flips on read (FlipOnRead): the stored bytes stay right, the bytes
//     returned are wrong, as with a bad cable or controller;
//   - torn writes (TearNextWrite): the next write stores only a prefix and
//     fails with ErrTorn;
//   - failing flushes (FailFlush).
//
// It counts reads, writes and flushes. Corrupt changes a member's stored
// bytes silently (what scrub must find).
//
// # Power cut
//
// PowerCut is a set of members whose writes sit in a volatile cache until
// the member's Flush, numbered by one counter across the whole set. CutAt(n)
// arms a cut at the n-th write: that write is torn (a prefix reaches the
// medium), every write not yet flushed on any member is lost, and every later
// call fails with ErrPowerCut. Images returns the bytes on the media
// afterwards and Reopen returns fresh in-memory members holding them, to
// assemble again. A test that wants every crash point runs its workload once
// uncut to learn Writes(), then once per n in 1..Writes().
//
//	pc := raidtest.NewPowerCut(6, 8<<20, nil)
//	pc.CutAt(37)
//	runWorkload(pc.Members())          // fails once the power is cut
//	survivors := pc.Reopen()           // []*raidtest.Mem with the durable bytes
package raidtest

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// Member is raid.Member: one block device of an array.
type Member interface {
	io.ReaderAt
	io.WriterAt
	Size() int64
	Flush() error
	Close() error
}

var (
	// ErrGone is wrapped by every error of a member that has vanished.
	ErrGone = fmt.Errorf("raidtest: device gone: %w", syscall.ENODEV)
	// ErrIO is wrapped by injected I/O errors.
	ErrIO = fmt.Errorf("raidtest: injected I/O error: %w", syscall.EIO)
	// ErrTorn is returned by a torn write.
	ErrTorn = errors.New("raidtest: torn write")
	// ErrPowerCut is returned by every call after a simulated power cut.
	ErrPowerCut = errors.New("raidtest: power cut")
	// ErrClosed is returned by calls on a closed member.
	ErrClosed = errors.New("raidtest: member closed")
)

// checkRange validates an access of n bytes at off on a member of size
// size. Reads past the end are cut short with io.EOF (as os.File does);
// writes past the end fail, since a disk does not grow.
func checkRange(op string, off int64, n int, size int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("raidtest: %s at negative offset %d", op, off)
	}
	if off >= size {
		if n == 0 {
			return 0, nil
		}
		if op == "read" {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("raidtest: write at %d past the end (%d bytes)", off, size)
	}
	if int64(n) > size-off {
		if op == "read" {
			return int(size - off), io.EOF
		}
		return 0, fmt.Errorf("raidtest: write of %d bytes at %d past the end (%d bytes)", n, off, size)
	}
	return n, nil
}
