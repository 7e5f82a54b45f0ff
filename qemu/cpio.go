package qemu

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// Initramfs is the content of a Linux initramfs: a cpio archive in the
// "newc" format (the kernel's Documentation/driver-api/early-userspace/
// buffer-format.rst), which the kernel unpacks into its root tmpfs.
//
// Each member is a 110-byte ASCII header, its NUL-terminated name, padding
// to a multiple of 4 bytes, its data, and padding to 4 bytes again. The
// header is "070701" followed by thirteen 8-digit hexadecimal fields:
// inode, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
// rdevmajor, rdevminor, namesize (with the NUL), check (0). The archive
// ends with a member named "TRAILER!!!". Everything written here is owned
// by root with mtime 0, so the same content gives the same bytes.
type Initramfs struct {
	entries map[string]entry
}

type entry struct {
	mode         uint32 // type and permission bits
	data         []byte // file contents or symlink target
	src          string // host file to read instead of data
	major, minor uint32 // device numbers of a device node
}

// Unix file type bits of cpio's mode field.
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// NewInitramfs returns an initramfs with /dev/console (so that init has a
// console before devtmpfs is mounted) and the usual mount points.
func NewInitramfs() *Initramfs {
	r := &Initramfs{entries: map[string]entry{}}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run"} {
		r.entries[d] = entry{mode: modeDir | 0o755}
	}
	r.entries["dev/console"] = entry{mode: modeChar | 0o600, major: 5, minor: 1}
	return r
}

func (r *Initramfs) parents(name string) {
	for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := r.entries[d]; !ok {
			r.entries[d] = entry{mode: modeDir | 0o755}
		}
	}
}

func clean(name string) (string, error) {
	n := strings.TrimPrefix(path.Clean("/"+name), "/")
	if n == "" || n == "TRAILER!!!" {
		return "", fmt.Errorf("qemu: initramfs: bad name %q", name)
	}
	return n, nil
}

// AddFile adds a host file, read when the archive is written.
func (r *Initramfs) AddFile(name, src string, perm os.FileMode) error {
	n, err := clean(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("qemu: initramfs: %w", err)
	}
	r.parents(n)
	r.entries[n] = entry{mode: modeFile | uint32(perm.Perm()), src: src}
	return nil
}

// AddBytes adds a file with the given contents.
func (r *Initramfs) AddBytes(name string, data []byte, perm os.FileMode) error {
	n, err := clean(name)
	if err != nil {
		return err
	}
	r.parents(n)
	r.entries[n] = entry{mode: modeFile | uint32(perm.Perm()), data: data}
	return nil
}

// AddSymlink adds a symbolic link.
func (r *Initramfs) AddSymlink(name, target string) error {
	n, err := clean(name)
	if err != nil {
		return err
	}
	r.parents(n)
	r.entries[n] = entry{mode: modeSymlink | 0o777, data: []byte(target)}
	return nil
}

// WriteTo writes the archive, members in name order (parents first).
func (r *Initramfs) WriteTo(w io.Writer) (int64, error) {
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	cw := &countWriter{w: bufio.NewWriter(w)}
	for i, n := range names {
		e := r.entries[n]
		data := e.data
		if e.src != "" {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return cw.n, fmt.Errorf("qemu: initramfs: %w", err)
			}
			data = b
		}
		nlink := uint32(1)
		if e.mode&0o170000 == modeDir {
			nlink = 2
		}
		writeMember(cw, uint32(i+1), e.mode, nlink, e.major, e.minor, n, data)
	}
	writeMember(cw, 0, 0, 1, 0, 0, "TRAILER!!!", nil)
	if cw.err != nil {
		return cw.n, fmt.Errorf("qemu: initramfs: %w", cw.err)
	}
	return cw.n, cw.w.(*bufio.Writer).Flush()
}

func writeMember(w *countWriter, ino, mode, nlink, major, minor uint32, name string, data []byte) {
	fmt.Fprintf(w, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, major, minor, len(name)+1, 0)
	io.WriteString(w, name)
	w.Write(make([]byte, 1+pad4(110+len(name)+1)))
	w.Write(data)
	w.Write(make([]byte, pad4(len(data))))
}

func pad4(n int) int { return (4 - n%4) % 4 }

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
	return n, err
}

// ReadInitramfs parses a newc archive into name -> contents (directories
// and device nodes map to nil), for checking what was written.
func ReadInitramfs(rd io.Reader) (map[string][]byte, error) {
	br := bufio.NewReader(rd)
	out := map[string][]byte{}
	var off int64
	for {
		hdr := make([]byte, 110)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, fmt.Errorf("qemu: initramfs: header at %d: %w", off, err)
		}
		if string(hdr[:6]) != "070701" {
			return nil, fmt.Errorf("qemu: initramfs: bad magic %q at %d", hdr[:6], off)
		}
		var f [13]uint32
		for i := range f {
			var v uint32
			if _, err := fmt.Sscanf(string(hdr[6+8*i:14+8*i]), "%08x", &v); err != nil {
				return nil, fmt.Errorf("qemu: initramfs: field %d at %d: %w", i, off, err)
			}
			f[i] = v
		}
		size, namesize := f[6], f[11]
		if namesize == 0 || namesize > 4096 || size > 1<<30 {
			return nil, fmt.Errorf("qemu: initramfs: bad sizes at %d", off)
		}
		name := make([]byte, int(namesize)+pad4(110+int(namesize)))
		if _, err := io.ReadFull(br, name); err != nil {
			return nil, fmt.Errorf("qemu: initramfs: name at %d: %w", off, err)
		}
		n := string(name[:namesize-1])
		data := make([]byte, int(size)+pad4(int(size)))
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, fmt.Errorf("qemu: initramfs: %s: data: %w", n, err)
		}
		off += int64(110 + len(name) + len(data))
		if n == "TRAILER!!!" {
			return out, nil
		}
		if _, dup := out[n]; dup {
			return nil, errors.New("qemu: initramfs: duplicate " + n)
		}
		if f[1]&0o170000 == modeFile || f[1]&0o170000 == modeSymlink {
			out[n] = data[:size]
		} else {
			out[n] = nil
		}
	}
}
