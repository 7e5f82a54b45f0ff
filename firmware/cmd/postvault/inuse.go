package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// The commands that only read the store (user list, store check|stats,
// recover) open the members read-only, which takes no lock. Against members
// that a running `postvault serve` (or any writer) holds, such a reader
// would replay a log that changes under it and report records still being
// written as damage, or export half a delivery. So a reader looks for the
// writer's lock first and refuses with a sentence naming it.

// errInUse is the sentence for a member held by a writer.
func errInUse(path, holder string) error {
	return fmt.Errorf("%s is in use: %s holds its write lock; stop it first (while `postvault serve` runs, use IMAP, POP3 or the status page)", path, holder)
}

// checkNoWriter returns an error naming the holder when another open file
// description (this process's or another's) holds a lock on any member.
// Members that cannot be opened are left for the assembly to report.
func checkNoWriter(paths []string) error {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		holder, locked := writeLockHolder(f)
		f.Close()
		if locked {
			return errInUse(p, holder)
		}
	}
	return nil
}

// writeLockHolder reports whether a lock conflicting with a write lock on
// the whole of f is held elsewhere and, if the holder is known, who. An OFD
// query sees POSIX and OFD locks alike, also this process's own writers;
// the pid comes from a POSIX query on byte 0 (OFD locks carry none;
// raid.OpenFile puts a POSIX lock there to name itself).
func writeLockHolder(f *os.File) (string, bool) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil || lk.Type == unix.F_UNLCK {
		return "", false
	}
	if lk.Pid <= 0 {
		lk = unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Len: 1}
		if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil || lk.Type == unix.F_UNLCK {
			lk.Pid = 0
		}
	}
	if lk.Pid <= 0 {
		return "another process", true
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", lk.Pid))
	if err != nil {
		return fmt.Sprintf("process %d", lk.Pid), true
	}
	return fmt.Sprintf("process %d (%s)", lk.Pid, strings.TrimSpace(string(comm))), true
}
