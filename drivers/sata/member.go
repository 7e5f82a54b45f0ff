package sata

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Member is one opened disk, partition or file with the methods of
// drivers/raid's Member interface (ReadAt, WriteAt, Size, Flush, Close).
// Reads and writes bypass the page cache (O_DIRECT): requests that are not
// aligned to the device's logical block size, in offset, length or memory,
// go through aligned bounce buffers, and unaligned writes read, patch and
// write the blocks at their ends. Errors are *Error values with a Kind.
// Its methods are safe for concurrent use.
type Member struct {
	path   string
	f      *os.File
	fd     int
	size   int64
	align  int
	direct bool
	block  bool
	sys    sysIO
	ata    *ATA // nil for files

	rmw                sync.Mutex // serialises read-modify-write of partial blocks
	bounce             sync.Pool  // *[]byte of maxBounce bytes, aligned
	closed             atomic.Bool
	read, write, flush opCounter

	ercErr error
}

// sysIO is the seam between Member and the kernel; tests inject faults.
type sysIO interface {
	pread(fd int, p []byte, off int64) (int, error)
	pwrite(fd int, p []byte, off int64) (int, error)
	fdatasync(fd int) error
}

type kernelIO struct{}

func (kernelIO) pread(fd int, p []byte, off int64) (int, error)  { return unix.Pread(fd, p, off) }
func (kernelIO) pwrite(fd int, p []byte, off int64) (int, error) { return unix.Pwrite(fd, p, off) }
func (kernelIO) fdatasync(fd int) error                          { return unix.Fdatasync(fd) }

// maxBounce bounds one bounce buffer; longer unaligned requests go in pieces.
const maxBounce = 1 << 20

// OpenDisk opens a block device (or a regular file, for tests and
// development) as a RAID member, read-write. A block device is opened with
// O_EXCL, which the kernel refuses while any partition is mounted or held
// by md or device mapper: the boot disk cannot be opened. A file is locked
// with flock. For a SATA disk OpenDisk sets SCT Error Recovery Control
// (Options.ERC, 7 s by default); a disk without it is still opened, and
// ERCError says why it was not set.
func OpenDisk(path string, o *Options) (*Member, error) {
	return openDisk(path, o, kernelIO{})
}

func openDisk(path string, o *Options, sys sysIO) (*Member, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("sata: %w", &os.PathError{Op: "stat", Path: path, Err: err})
	}
	m := &Member{path: path, sys: sys, block: st.Mode&unix.S_IFMT == unix.S_IFBLK}
	if !m.block && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("sata: %s is neither a block device nor a regular file", path)
	}
	flags := os.O_RDWR | unix.O_CLOEXEC
	if m.block {
		flags |= unix.O_EXCL
	}
	direct := o == nil || !o.Buffered
	f, err := os.OpenFile(path, flags|unix.O_DIRECT*boolInt(direct), 0)
	if err != nil && direct && errors.Is(err, unix.EINVAL) {
		direct = false // the file system has no O_DIRECT (tmpfs)
		f, err = os.OpenFile(path, flags, 0)
	}
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("sata: %s is in use (mounted, or claimed by md or device mapper)", path)
		}
		return nil, fmt.Errorf("sata: %w", err)
	}
	m.f, m.fd, m.direct = f, int(f.Fd()), direct
	if err := m.probe(); err != nil {
		f.Close()
		return nil, err
	}
	if m.block {
		m.ata = newATA(path, f.Fd(), o)
		m.ercErr = m.setERC(o)
	}
	return m, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// probe finds size and alignment and locks a regular file.
func (m *Member) probe() error {
	if m.block {
		var size uint64
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(m.fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
			return fmt.Errorf("sata: %s: BLKGETSIZE64: %w", m.path, e)
		}
		lbs, err := unix.IoctlGetInt(m.fd, unix.BLKSSZGET)
		if err != nil {
			return fmt.Errorf("sata: %s: BLKSSZGET: %w", m.path, err)
		}
		m.size, m.align = int64(size), lbs
		return nil
	}
	if err := unix.Flock(m.fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("sata: %s is locked by another user: %w", m.path, err)
	}
	var sx unix.Statx_t
	if err := unix.Statx(m.fd, "", unix.AT_EMPTY_PATH, unix.STATX_SIZE|unix.STATX_DIOALIGN, &sx); err != nil {
		return fmt.Errorf("sata: %s: statx: %w", m.path, err)
	}
	m.size, m.align = int64(sx.Size), 4096
	if sx.Mask&unix.STATX_DIOALIGN != 0 && sx.Dio_offset_align != 0 {
		m.align = int(max(sx.Dio_offset_align, sx.Dio_mem_align, 512))
	}
	if m.direct && m.size%int64(m.align) != 0 {
		// A direct write of the last, partial block would grow the file.
		fl, err := unix.FcntlInt(uintptr(m.fd), unix.F_GETFL, 0)
		if err == nil {
			_, err = unix.FcntlInt(uintptr(m.fd), unix.F_SETFL, fl&^unix.O_DIRECT)
		}
		if err != nil {
			return fmt.Errorf("sata: %s: clearing O_DIRECT: %w", m.path, err)
		}
		m.direct = false
	}
	return nil
}

// setERC sets SCT Error Recovery Control on a block device.
func (m *Member) setERC(o *Options) error {
	erc := 7 * time.Second
	if o != nil && o.ERC != 0 {
		erc = o.ERC
	}
	if erc < 0 {
		return nil
	}
	id, err := m.ata.Identify()
	if err != nil {
		return err
	}
	return m.ata.SetErrorRecovery(id, erc, erc)
}

// Path is the device or file the member was opened on.
func (m *Member) Path() string { return m.path }

// Name is the member's device path: the name an array reports it by.
func (m *Member) Name() string { return m.path }

// Size is the capacity in bytes.
func (m *Member) Size() int64 { return m.size }

// Direct reports whether I/O bypasses the page cache.
func (m *Member) Direct() bool { return m.direct }

// Alignment is the block size direct I/O is aligned to.
func (m *Member) Alignment() int { return m.align }

// ATA is the command interface of a block device (nil for a file): SMART
// while the disk is a member.
func (m *Member) ATA() *ATA { return m.ata }

// ERCError is why SCT Error Recovery Control could not be set when the
// disk was opened (nil if it was, or for a file).
func (m *Member) ERCError() error { return m.ercErr }

// Stats returns the latency statistics since the member was opened.
func (m *Member) Stats() Stats {
	return Stats{Read: m.read.snapshot(), Write: m.write.snapshot(), Flush: m.flush.snapshot()}
}

func (m *Member) fail(op string, off int64, n int, err error) error {
	k := errnoKind(err)
	if errors.Is(err, os.ErrClosed) {
		k = KindOther
	}
	return &Error{Op: op, Path: m.path, Off: off, Len: n, Kind: k, Err: err}
}

// Flush makes completed writes durable: fdatasync, which on a block device
// sends FLUSH CACHE (EXT) to the disk.
func (m *Member) Flush() error {
	if m.closed.Load() {
		return m.fail("flush", -1, 0, os.ErrClosed)
	}
	start := time.Now()
	err := m.sys.fdatasync(m.fd)
	m.flush.add(time.Since(start), 0, err)
	if err != nil {
		return m.fail("flush", -1, 0, err)
	}
	return nil
}

// Close releases the device (and the file's lock).
func (m *Member) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	if m.ata != nil {
		m.ata.Close()
	}
	return m.f.Close()
}
