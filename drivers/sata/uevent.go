package sata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Uevent is one kernel object event as the kernel multicasts it on
// NETLINK_KOBJECT_UEVENT, group 1. The wire format is a header
// "ACTION@DEVPATH" and then KEY=VALUE pairs, each NUL-terminated:
//
//	remove@/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdc\0
//	ACTION=remove\0DEVPATH=/devices/...\0SUBSYSTEM=block\0MAJOR=8\0MINOR=32\0
//	DEVNAME=sdc\0DEVTYPE=disk\0DISKSEQ=4\0SEQNUM=2291\0
//
// Messages from udev on group 2 start with "libudev\0" and are not parsed.
type Uevent struct {
	Action    string // add, remove, change, move, bind, unbind, online, offline
	DevPath   string
	Subsystem string
	DevType   string
	DevName   string
	Seq       uint64
	Env       map[string]string
}

// maxUevent is the kernel's UEVENT_BUFFER_SIZE.
const maxUevent = 2048

// ParseUevent decodes one kernel uevent message.
func ParseUevent(b []byte) (*Uevent, error) {
	if len(b) > maxUevent {
		return nil, fmt.Errorf("sata: uevent of %d bytes, the kernel sends at most %d", len(b), maxUevent)
	}
	if bytes.HasPrefix(b, []byte("libudev\x00")) {
		return nil, errors.New("sata: uevent from udev, not from the kernel")
	}
	fields := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	action, devpath, ok := strings.Cut(string(fields[0]), "@")
	if !ok || action == "" || !strings.HasPrefix(devpath, "/") {
		return nil, fmt.Errorf("sata: uevent header %q is not ACTION@DEVPATH", fields[0])
	}
	u := &Uevent{Action: action, DevPath: devpath, Env: map[string]string{}}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(string(f), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("sata: uevent field %q is not KEY=VALUE", f)
		}
		u.Env[k] = v
	}
	if a := u.Env["ACTION"]; a != "" && a != action {
		return nil, fmt.Errorf("sata: uevent ACTION=%s under header %s", a, action)
	}
	if d := u.Env["DEVPATH"]; d != "" && d != devpath {
		return nil, fmt.Errorf("sata: uevent DEVPATH=%s under header %s", d, devpath)
	}
	if strings.Contains(devpath, "/../") || strings.HasSuffix(devpath, "/..") {
		return nil, fmt.Errorf("sata: uevent devpath %q climbs out of sysfs", devpath)
	}
	u.Subsystem, u.DevType, u.DevName = u.Env["SUBSYSTEM"], u.Env["DEVTYPE"], u.Env["DEVNAME"]
	if s := u.Env["SEQNUM"]; s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sata: uevent SEQNUM=%q", s)
		}
		u.Seq = n
	}
	return u, nil
}

// Marshal encodes u in the kernel's wire format (for fakes and tests).
func (u *Uevent) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s@%s\x00ACTION=%s\x00DEVPATH=%s\x00", u.Action, u.DevPath, u.Action, u.DevPath)
	for _, kv := range [][2]string{{"SUBSYSTEM", u.Subsystem}, {"DEVTYPE", u.DevType}, {"DEVNAME", u.DevName}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s\x00", kv[0], kv[1])
		}
	}
	for k, v := range u.Env {
		switch k {
		case "ACTION", "DEVPATH", "SUBSYSTEM", "DEVTYPE", "DEVNAME", "SEQNUM":
			continue
		}
		fmt.Fprintf(&b, "%s=%s\x00", k, v)
	}
	if u.Seq != 0 {
		fmt.Fprintf(&b, "SEQNUM=%d\x00", u.Seq)
	}
	return b.Bytes()
}

// UeventSocket reads kernel uevents from a NETLINK_KOBJECT_UEVENT socket.
type UeventSocket struct {
	f *os.File
}

// OpenUevents opens a uevent socket bound to the kernel's multicast group.
// Receiving needs no privilege.
func OpenUevents() (*UeventSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("sata: uevent socket: %w", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20) // best effort
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sata: uevent bind: %w", err)
	}
	return &UeventSocket{f: os.NewFile(uintptr(fd), "uevent")}, nil
}

// ErrLost is returned by Read when the socket's buffer overflowed and
// events were dropped: the caller should rescan.
var ErrLost = errors.New("sata: uevents lost (receive buffer overflow)")

// Read blocks until the next kernel uevent. Messages not sent by the
// kernel, and any that do not parse, are skipped.
func (s *UeventSocket) Read() (*Uevent, error) {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 8192)
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return nil, err
		}
		if rerr == unix.ENOBUFS {
			return nil, ErrLost
		}
		if rerr != nil {
			return nil, fmt.Errorf("sata: uevent: %w", rerr)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue
		}
		if u, err := ParseUevent(buf[:n]); err == nil {
			return u, nil
		}
	}
}

// Close closes the socket; a blocked Read returns.
func (s *UeventSocket) Close() error { return s.f.Close() }
