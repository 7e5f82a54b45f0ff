// Package qemu boots postvault's image, or the gokrazy kernel with a Go
// program of your choice, in qemu-system-x86_64, so that tests can check
// the appliance and in-guest code against real (virtual) SATA disks.
//
// # Machine
//
// Every VM is a q35 PC under TCG (KVM does not work on the build machines):
//
//   - the boot disk (Options.Image) on port 0 of the chipset's AHCI
//     controller, ATA serial "POSTVAULT-BOOT", opened snapshot=on unless
//     Options.WritableImage;
//   - the data disks (Options.Disks) on a second AHCI controller
//     (ich9-ahci, id "sata") as ide-hd on ports 0..5, each with its ATA
//     serial (visible in sysfs as /sys/block/sdX/device/vpd_pg80 and in
//     IDENTIFY); raw files, created sparse when missing, kept across boots;
//   - an e1000 NIC on QEMU's user-mode network (guest 10.0.2.15 by DHCP),
//     with host forwards tcp:127.0.0.1:HOST-:GUEST only (Options.Forwards;
//     free host ports are chosen at Start);
//   - virtio-rng-pci, so that the guest's crypto/rand does not block (TCG
//     has no RDRAND and the random pool would never fill);
//   - the serial console (ttyS0) captured in memory and copied to
//     Options.Log; -no-reboot, so a guest reboot or power-off ends QEMU.
//
// Two boot modes: DirectKernel (-kernel, -append, optional -initrd: the
// fastest under TCG) and UEFI (OVMF firmware, which starts systemd-boot
// from the image's EFI partition, which starts the kernel: what a real box
// does).
//
// # Use
//
//	vm, err := qemu.New(&qemu.Options{Image: "build/postvault.img", Disks: disks,
//		Forwards: qemu.MailForwards()})
//	err = vm.Start()
//	defer vm.Stop()
//	m, err := vm.WaitFor(regexp.MustCompile(`postvault: ready (.*)`), 2*time.Minute)
//	c, err := net.Dial("tcp", vm.Addr("imap"))
//
// RunGuest (guest.go) boots the kernel with a small Go init in an
// initramfs that runs one program (for example a test binary made with
// go test -c) and reports its exit status.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/postvault/postvault/gokrazy"
)

// VMCmdline is added to the kernel command line of direct kernel boots
// (and belongs in the command line of images built for UEFI tests):
// under TCG on a loaded host the kernel's IO-APIC timer check can time out
// and panic ("IO-APIC + timer doesn't work!").
const VMCmdline = "no_timer_check"

// Mode is how the VM boots.
type Mode int

const (
	// DirectKernel boots Options.Kernel with -kernel and -append (and
	// Options.Initrd when set); the image, if any, is only a disk.
	DirectKernel Mode = iota
	// UEFI boots Options.Image through the OVMF firmware and systemd-boot.
	UEFI
)

// Debian's paths of the tools and firmware.
const (
	DefaultBinary   = "qemu-system-x86_64"
	DefaultOVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	DefaultOVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	// BootSerial is the ATA serial of the boot disk.
	BootSerial = "POSTVAULT-BOOT"
	// MaxDisks is the number of ports of the data disks' AHCI controller.
	MaxDisks = 6
)

// Disk is one virtual SATA data disk.
type Disk struct {
	// Path is a raw disk image; it is created sparse with Size bytes when
	// it does not exist, and kept as it is otherwise.
	Path string
	// Size in bytes for a new file; 0 means 1 GiB.
	Size int64
	// Serial is the ATA serial number (up to 20 characters); "" means
	// "PVDISK<index>".
	Serial string
}

// Forward is a TCP port forward from 127.0.0.1 on the host to the guest.
type Forward struct {
	Name  string // e.g. "imap"
	Guest int    // port in the guest
	Host  int    // port on 127.0.0.1; 0 means a free port chosen at Start
}

// MailForwards returns the appliance's services on their standard ports:
// imap 143, pop3 110, smtp 25, http 80.
func MailForwards() []Forward {
	return []Forward{{Name: "imap", Guest: 143}, {Name: "pop3", Guest: 110},
		{Name: "smtp", Guest: 25}, {Name: "http", Guest: 80}}
}

// Options describe a VM. The zero value of each field is documented.
type Options struct {
	// Mode is DirectKernel (the zero value) or UEFI.
	Mode Mode
	// Image is the boot disk (a raw image made by package gokrazy); ""
	// means none (DirectKernel with an Initrd). UEFI needs it.
	Image string
	// WritableImage attaches Image read-write; false means snapshot=on
	// (the file is never changed).
	WritableImage bool
	// Kernel is the bzImage for DirectKernel; "" means the gokrazy
	// kernel.amd64 module's vmlinuz.
	Kernel string
	// Initrd is an initramfs (cpio newc) for DirectKernel; "" means none.
	Initrd string
	// Cmdline is the kernel command line for DirectKernel; "" means the
	// one in Image's /cmdline.txt (read with mtools' mtype), or for an
	// initramfs "console=ttyS0,115200 panic=-1 oops=panic"; VMCmdline is
	// appended to either default.
	Cmdline string
	// Disks are the data disks, at most MaxDisks.
	Disks []Disk
	// Forwards are the host forwards.
	Forwards []Forward
	// Memory in MiB; 0 means 1024.
	Memory int
	// CPUs; 0 means 1.
	CPUs int
	// Binary is the QEMU program; "" means qemu-system-x86_64.
	Binary string
	// OVMFCode and OVMFVars are the UEFI firmware files; "" means
	// Debian's 4M builds. The variables are copied to a temporary file.
	OVMFCode, OVMFVars string
	// Log receives a copy of the serial console as it arrives; nil means
	// none (it is kept in memory either way, see Serial).
	Log io.Writer
	// ExtraArgs are appended to QEMU's command line.
	ExtraArgs []string
}

// VM is one QEMU process. Its methods are safe for concurrent use.
type VM struct {
	opts    Options
	args    []string
	tmp     string
	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{}
	waitErr error

	mu     sync.Mutex   // guards serial, lines, partial, cursor
	serial bytes.Buffer // the console as it came
	// lines is the console in complete lines, with kernel messages that
	// broke into a line of ours moved out of it (see addLines); WaitFor
	// searches it from cursor.
	lines   bytes.Buffer
	partial []byte // the unfinished last line of serial
	cursor  int
	grew    chan struct{} // closed and replaced whenever serial grows
}

// kmsgRe finds a kernel message (printk's "[    5.890436] ...") that
// starts inside a line. The kernel writes its messages to the console
// whole, but between the characters of a user process's write: a line
// "postvault: network eth0 ... via 10.0.2.2" came out as
// "... via 10.0.2.2[    5.890436] postvault (106) used greatest stack
// depth: ...\n\n".
var kmsgRe = regexp.MustCompile(`\[ *[0-9]+\.[0-9]{6}\] [^\n]*\n`)

// addLines appends the complete lines of b to vm.lines, keeping the
// unfinished rest in vm.partial. A kernel message found inside a line is
// put on a line of its own before it, and the line is joined again.
// Called with vm.mu held.
func (vm *VM) addLines(b []byte) {
	vm.partial = append(vm.partial, b...)
	for {
		nl := bytes.IndexByte(vm.partial, '\n')
		if nl < 0 {
			return
		}
		if loc := kmsgRe.FindIndex(vm.partial); loc != nil && loc[0] > 0 && loc[0] <= nl && vm.partial[loc[0]-1] != '\n' {
			vm.lines.Write(vm.partial[loc[0]:loc[1]])
			vm.partial = append(vm.partial[:loc[0]:loc[0]], vm.partial[loc[1]:]...)
			continue
		}
		vm.lines.Write(vm.partial[:nl+1])
		vm.partial = vm.partial[nl+1:]
	}
}

// Available reports why QEMU cannot run here, or nil.
func Available() error {
	if _, err := exec.LookPath(DefaultBinary); err != nil {
		return fmt.Errorf("qemu: %s not installed (Debian package qemu-system-x86; run make deps)", DefaultBinary)
	}
	return nil
}

// New checks the options, creates missing disk files and prepares the
// command line; it does not start QEMU.
func New(o *Options) (*VM, error) {
	vm := &VM{opts: *o, exited: make(chan struct{}), grew: make(chan struct{})}
	op := &vm.opts
	if op.Binary == "" {
		op.Binary = DefaultBinary
	}
	if _, err := exec.LookPath(op.Binary); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	if op.Memory == 0 {
		op.Memory = 1024
	}
	if op.CPUs == 0 {
		op.CPUs = 1
	}
	if len(op.Disks) > MaxDisks {
		return nil, fmt.Errorf("qemu: %d disks, at most %d", len(op.Disks), MaxDisks)
	}
	op.Disks = append([]Disk(nil), op.Disks...)
	for i := range op.Disks {
		if err := prepareDisk(&op.Disks[i], i); err != nil {
			return nil, err
		}
	}
	op.Forwards = append([]Forward(nil), op.Forwards...)
	switch op.Mode {
	case DirectKernel:
		if err := vm.prepareDirect(); err != nil {
			return nil, err
		}
	case UEFI:
		if op.Image == "" {
			return nil, errors.New("qemu: UEFI boot needs Options.Image")
		}
		if op.OVMFCode == "" {
			op.OVMFCode = DefaultOVMFCode
		}
		if op.OVMFVars == "" {
			op.OVMFVars = DefaultOVMFVars
		}
		for _, f := range []string{op.OVMFCode, op.OVMFVars} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("qemu: UEFI firmware: %w (Debian package ovmf)", err)
			}
		}
	default:
		return nil, fmt.Errorf("qemu: unknown mode %d", op.Mode)
	}
	if op.Image != "" {
		if _, err := os.Stat(op.Image); err != nil {
			return nil, fmt.Errorf("qemu: %w", err)
		}
	}
	return vm, nil
}

func prepareDisk(d *Disk, i int) error {
	if d.Path == "" {
		return fmt.Errorf("qemu: disk %d has no path", i)
	}
	if d.Serial == "" {
		d.Serial = "PVDISK" + strconv.Itoa(i)
	}
	if len(d.Serial) > 20 || strings.ContainsAny(d.Serial, ", ") {
		return fmt.Errorf("qemu: disk %d: bad serial %q (at most 20 characters, no commas or spaces)", i, d.Serial)
	}
	if _, err := os.Stat(d.Path); err == nil {
		return nil
	}
	if d.Size == 0 {
		d.Size = 1 << 30
	}
	if err := os.MkdirAll(filepath.Dir(d.Path), 0o755); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	f, err := os.OpenFile(d.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(d.Size); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	return nil
}

func (vm *VM) prepareDirect() error {
	op := &vm.opts
	if op.Kernel == "" {
		k, err := gokrazy.KernelPath(context.Background())
		if err != nil {
			return fmt.Errorf("qemu: %w", err)
		}
		op.Kernel = k
	}
	if op.Cmdline == "" {
		switch {
		case op.Initrd != "":
			op.Cmdline = "console=ttyS0,115200 panic=-1 oops=panic " + VMCmdline
		case op.Image != "":
			c, err := gokrazy.ImageCmdline(op.Image)
			if err != nil {
				return fmt.Errorf("qemu: %w", err)
			}
			if !strings.Contains(c, VMCmdline) {
				c += " " + VMCmdline
			}
			op.Cmdline = c
		default:
			return errors.New("qemu: direct kernel boot needs an Image, an Initrd or a Cmdline")
		}
	}
	return nil
}

// command builds QEMU's arguments; tmp holds the OVMF variables copy.
func (vm *VM) command(tmp string) ([]string, error) {
	op := &vm.opts
	a := []string{"-M", "q35", "-accel", "tcg", "-m", strconv.Itoa(op.Memory),
		"-smp", strconv.Itoa(op.CPUs), "-nodefaults", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-device", "virtio-rng-pci",
		"-monitor", "unix:" + filepath.Join(tmp, "monitor.sock") + ",server=on,wait=off"}
	switch op.Mode {
	case DirectKernel:
		a = append(a, "-kernel", op.Kernel, "-append", op.Cmdline)
		if op.Initrd != "" {
			a = append(a, "-initrd", op.Initrd)
		}
	case UEFI:
		vars := filepath.Join(tmp, "OVMF_VARS.fd")
		if err := copyFile(vars, op.OVMFVars); err != nil {
			return nil, err
		}
		a = append(a, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+op.OVMFCode,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	if op.Image != "" {
		snap := "on"
		if op.WritableImage {
			snap = "off"
		}
		dev := "ide-hd,bus=ide.0,drive=bootdisk,serial=" + BootSerial
		if op.Mode == UEFI {
			dev += ",bootindex=0" // with -kernel, QEMU's loader holds index 0
		}
		a = append(a, "-drive", "if=none,id=bootdisk,format=raw,snapshot="+snap+",file="+op.Image,
			"-device", dev)
	}
	if len(op.Disks) > 0 {
		a = append(a, "-device", "ich9-ahci,id=sata")
		for i, d := range op.Disks {
			id := "data" + strconv.Itoa(i)
			a = append(a, "-drive", "if=none,id="+id+",format=raw,cache=unsafe,file="+d.Path,
				"-device", fmt.Sprintf("ide-hd,bus=sata.%d,drive=%s,serial=%s", i, id, d.Serial))
		}
	}
	netdev := "user,id=net0"
	for i := range op.Forwards {
		f := &op.Forwards[i]
		if f.Host == 0 {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			f.Host = p
		}
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", f.Host, f.Guest)
	}
	a = append(a, "-netdev", netdev, "-device", "e1000,netdev=net0")
	return append(a, op.ExtraArgs...), nil
}

// Start starts QEMU. The serial console is captured from then on.
func (vm *VM) Start() error {
	tmp, err := os.MkdirTemp("", "postvault-qemu-")
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	vm.tmp = tmp
	args, err := vm.command(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	vm.args = args
	cmd := exec.Command(vm.opts.Binary, args...)
	cmd.Stdout = consoleWriter{vm}
	cmd.Stderr = consoleWriter{vm}
	cmd.SysProcAttr = procAttr()
	vm.started = time.Now()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("qemu: %w", err)
	}
	vm.cmd = cmd
	go func() {
		vm.waitErr = cmd.Wait()
		os.RemoveAll(tmp)
		close(vm.exited)
		vm.mu.Lock()
		close(vm.grew)
		vm.grew = make(chan struct{})
		vm.mu.Unlock()
	}()
	return nil
}

type consoleWriter struct{ vm *VM }

func (w consoleWriter) Write(b []byte) (int, error) {
	vm := w.vm
	vm.mu.Lock()
	vm.serial.Write(b)
	vm.addLines(b)
	close(vm.grew)
	vm.grew = make(chan struct{})
	vm.mu.Unlock()
	if vm.opts.Log != nil {
		vm.opts.Log.Write(b)
	}
	return len(b), nil
}

// Args returns QEMU's command line (after Start).
func (vm *VM) Args() []string { return append([]string{vm.opts.Binary}, vm.args...) }

// Started returns when QEMU was started.
func (vm *VM) Started() time.Time { return vm.started }

// Forwards returns the forwards with their host ports (after Start).
func (vm *VM) Forwards() []Forward { return append([]Forward(nil), vm.opts.Forwards...) }

// Addr returns "127.0.0.1:PORT" of the forward named name, or "".
func (vm *VM) Addr(name string) string {
	for _, f := range vm.opts.Forwards {
		if f.Name == name && f.Host != 0 {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Host))
		}
	}
	return ""
}

// Disks returns the data disks with their defaults filled in.
func (vm *VM) Disks() []Disk { return append([]Disk(nil), vm.opts.Disks...) }

// Serial returns the console output so far.
func (vm *VM) Serial() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.serial.String()
}

// WaitFor waits until the console shows a match of re in complete lines
// after the previous match (so a second WaitFor for the same line waits for it to be printed
// again) and returns the match and its submatches. It fails when timeout
// passes or QEMU exits first; the error then carries the console's tail.
func (vm *VM) WaitFor(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		vm.mu.Lock()
		// Complete lines only: a line may arrive in pieces.
		buf := vm.lines.Bytes()[vm.cursor:]
		if loc := re.FindSubmatchIndex(buf); loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = string(buf[loc[2*i]:loc[2*i+1]])
				}
			}
			vm.cursor += loc[1]
			vm.mu.Unlock()
			return m, nil
		}
		grew := vm.grew
		vm.mu.Unlock()
		select {
		case <-grew:
		case <-vm.exited:
			// One more look: the last bytes may have come with the exit.
			vm.mu.Lock()
			found := re.Match(vm.lines.Bytes()[vm.cursor:])
			vm.mu.Unlock()
			if found {
				continue
			}
			return nil, fmt.Errorf("qemu: exited (%v) before %q appeared; console tail:\n%s", vm.waitErr, re, vm.tail(60))
		case <-deadline.C:
			return nil, fmt.Errorf("qemu: %q did not appear within %s; console tail:\n%s", re, timeout, vm.tail(60))
		}
	}
}

// tail returns the last n lines of the console.
func (vm *VM) tail(n int) string {
	lines := strings.Split(strings.TrimRight(vm.Serial(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
