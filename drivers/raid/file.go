package raid

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// File is a member on a plain file or a block device.
type File struct {
	f        *os.File
	path     string
	size     int64
	readOnly bool
	key      fileKey
}

var _ Member = (*File)(nil)

type fileKey struct{ dev, ino uint64 }

// openForWrite holds the files this process has open for writing: POSIX
// locks do not conflict within one process, so a second writer here is
// refused by this table instead.
var openForWrite = struct {
	sync.Mutex
	m map[fileKey]string
}{m: map[fileKey]string{}}

// OpenFile opens a member on a file or block device. A writable open takes
// an exclusive lock on the whole file (a POSIX record lock, which the
// kernel drops when the process dies); a second writer, in this process or
// another, gets an error that names the holder. Read-only opens take no
// lock and never write.
func OpenFile(path string, readOnly bool) (*File, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("raid: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd) // works for block devices too
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("raid: size of %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("raid: stat %s: %w", path, err)
	}
	m := &File{f: f, path: path, size: size, readOnly: readOnly,
		key: fileKey{uint64(st.Dev), uint64(st.Ino)}}
	if readOnly {
		return m, nil
	}
	if err := m.lock(); err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func (m *File) lock() error {
	openForWrite.Lock()
	defer openForWrite.Unlock()
	if _, busy := openForWrite.m[m.key]; busy {
		return fmt.Errorf("raid: %s is already open for writing by this process (pid %d)", m.path, os.Getpid())
	}
	// The exclusion is an open-file-description lock on bytes 1..EOF:
	// closing another descriptor of the file in this process does not drop
	// it. A POSIX lock on byte 0 only lets a refused opener learn the
	// holder's pid (F_GETLK reports a pid for POSIX locks, -1 for OFD ones).
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: 1}
	if err := unix.FcntlFlock(m.f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("raid: %s is in use: %s holds its write lock", m.path, lockHolder(m.f))
		}
		return fmt.Errorf("raid: locking %s: %w", m.path, err)
	}
	plk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: 0, Len: 1}
	_ = unix.FcntlFlock(m.f.Fd(), unix.F_SETLK, &plk) // best effort: names us to others
	openForWrite.m[m.key] = m.path
	return nil
}

// lockHolder names the process holding a conflicting lock on f.
func lockHolder(f *os.File) string {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: 0, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil || lk.Type == unix.F_UNLCK || lk.Pid <= 0 {
		return "another process"
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", lk.Pid))
	if err != nil {
		return fmt.Sprintf("process %d", lk.Pid)
	}
	return fmt.Sprintf("process %d (%s)", lk.Pid, string(cmd[:max(0, len(cmd)-1)]))
}

// Name is the path the member was opened by.
func (m *File) Name() string { return m.path }

// ReadAt reads from the member.
func (m *File) ReadAt(p []byte, off int64) (int, error) { return m.f.ReadAt(p, off) }

// WriteAt writes to the member; it fails on a read-only member.
func (m *File) WriteAt(p []byte, off int64) (int, error) {
	if m.readOnly {
		return 0, fmt.Errorf("raid: %s is open read-only", m.path)
	}
	if off+int64(len(p)) > m.size {
		return 0, fmt.Errorf("raid: write of %d bytes at %d past the end of %s (%d bytes)", len(p), off, m.path, m.size)
	}
	return m.f.WriteAt(p, off)
}

// Size is the member's capacity in bytes.
func (m *File) Size() int64 { return m.size }

// Flush makes completed writes durable (fdatasync).
func (m *File) Flush() error {
	if m.readOnly {
		return nil
	}
	if err := unix.Fdatasync(int(m.f.Fd())); err != nil {
		return fmt.Errorf("raid: flushing %s: %w", m.path, err)
	}
	return nil
}

// Close releases the member and its lock.
func (m *File) Close() error {
	if !m.readOnly {
		openForWrite.Lock()
		delete(openForWrite.m, m.key)
		openForWrite.Unlock()
	}
	return m.f.Close()
}
