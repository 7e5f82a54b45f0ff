package sata

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// faultIO fails the n-th call (counting from 1) of every kind with err;
// the others go to the kernel.
type faultIO struct {
	kernelIO
	failAt, calls int
	err           error
}

func (f *faultIO) hit() bool { f.calls++; return f.calls == f.failAt }

func (f *faultIO) pread(fd int, p []byte, off int64) (int, error) {
	if f.hit() {
		return 0, f.err
	}
	return f.kernelIO.pread(fd, p, off)
}

func (f *faultIO) pwrite(fd int, p []byte, off int64) (int, error) {
	if f.hit() {
		return 0, f.err
	}
	return f.kernelIO.pwrite(fd, p, off)
}

func (f *faultIO) fdatasync(fd int) error {
	if f.hit() {
		return f.err
	}
	return f.kernelIO.fdatasync(fd)
}

func TestMemberFaults(t *testing.T) {
	for _, tc := range []struct {
		errno    syscall.Errno
		kind     Kind
		sentinel error
	}{
		{syscall.ENODATA, KindMedium, ErrMedium},
		{syscall.ETIMEDOUT, KindTimeout, ErrTimeout},
		{syscall.ENODEV, KindGone, ErrGone},
		{syscall.ENXIO, KindGone, ErrGone},
		{syscall.EIO, KindOther, nil},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "m")
			os.WriteFile(p, make([]byte, 1<<16), 0o644)
			fio := &faultIO{failAt: 1, err: tc.errno}
			m, err := openDisk(p, nil, fio)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ops := []func() error{
				func() error { _, err := m.ReadAt(make([]byte, 4096), 0); return err },
				func() error { _, err := m.WriteAt(make([]byte, 10), 5); return err }, // RMW: fails in its read
				func() error { return m.Flush() },
			}
			for i, op := range ops {
				fio.calls = 0
				err := op()
				if KindOf(err) != tc.kind || !errors.Is(err, tc.errno) {
					t.Errorf("op %d: %v: kind %v, want %v wrapping %v", i, err, KindOf(err), tc.kind, tc.errno)
				}
				if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
					t.Errorf("op %d: errors.Is(%v, %v) = false", i, err, tc.sentinel)
				}
			}
			if s := m.Stats(); s.Read.Errors != 1 || s.Write.Errors != 1 || s.Flush.Errors != 1 {
				t.Errorf("error counts %d/%d/%d, want 1/1/1", s.Read.Errors, s.Write.Errors, s.Flush.Errors)
			}
		})
	}
}
