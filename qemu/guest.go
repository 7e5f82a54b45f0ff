package qemu

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/postvault/postvault/gokrazy"
)

// GuestInitPackage is the Go package of the initramfs init that RunGuest
// boots (see qemu/cmd/guestinit).
const GuestInitPackage = "github.com/postvault/postvault/qemu/cmd/guestinit"

// Guest describes one program run inside a fresh VM: the gokrazy kernel
// boots an initramfs whose init (GuestInitPackage) runs Program and powers
// off. Use it to run kernel-facing code (sysfs, SG_IO, uevents, LEDs)
// against QEMU's AHCI disks; see also GoTest.
type Guest struct {
	// Program is a static linux/amd64 binary, run as /guest/run with the
	// guest's console as stdout and stderr, in /tmp, with
	// POSTVAULT_QEMU_GUEST=1 in its environment. "" means none: the guest
	// prints "postvault-guest: hello" and powers off.
	Program string
	// Args and Env are the program's arguments and extra environment.
	Args, Env []string
	// Files maps guest paths to host files added to the initramfs.
	Files map[string]string
	// Disks are data disks on the AHCI controller (see Options.Disks).
	Disks []Disk
	// Init is a built guestinit binary; "" means build GuestInitPackage
	// now (needs this module's source, as in its own tests).
	Init string
	// Cmdline is appended to the kernel command line.
	Cmdline string
	// Timeout bounds the whole run; 0 means 3 minutes.
	Timeout time.Duration
	// Memory in MiB; 0 means 1024.
	Memory int
	// Log receives the console as it arrives; nil means none.
	Log io.Writer
}

// GuestResult is what a guest run produced.
type GuestResult struct {
	// Exit is the program's exit status (125: the init could not mount,
	// 126: the program could not start; -1: killed by a signal).
	Exit int
	// Output is the console from the program's start to its exit line
	// (kernel messages printed meanwhile included).
	Output string
	// Console is the whole serial console.
	Console string
	// Ready is the time from starting QEMU to the init's first line.
	Ready time.Duration
	// Elapsed is the time from starting QEMU to the exit line.
	Elapsed time.Duration
}

var (
	guestStart = regexp.MustCompile(`postvault-guest: (?:run|hello) uptime=`)
	guestExit  = regexp.MustCompile(`postvault-guest: exit=(-?\d+)`)
)

// RunGuest boots a VM for g and waits for its program to finish. The error
// is about the VM (it did not boot, it timed out); the program's own
// failure is GuestResult.Exit.
func RunGuest(ctx context.Context, g *Guest) (*GuestResult, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	timeout := g.Timeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	tmp, err := os.MkdirTemp("", "postvault-guest-")
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	defer os.RemoveAll(tmp)
	initrd := filepath.Join(tmp, "initramfs.cpio")
	if err := writeGuestInitramfs(ctx, initrd, tmp, g); err != nil {
		return nil, err
	}
	vm, err := New(&Options{
		Initrd:  initrd,
		Cmdline: strings.TrimSpace("console=ttyS0,115200 panic=-1 oops=panic rdinit=/init quiet " + VMCmdline + " " + g.Cmdline),
		Disks:   g.Disks,
		Memory:  g.Memory,
		Log:     g.Log,
	})
	if err != nil {
		return nil, err
	}
	if err := vm.Start(); err != nil {
		return nil, err
	}
	defer vm.Stop()
	deadline := time.Now().Add(timeout)
	if _, err := vm.WaitFor(guestStart, time.Until(deadline)); err != nil {
		return nil, err
	}
	res := &GuestResult{Ready: time.Since(vm.Started())}
	start := len(vm.Serial())
	m, err := vm.WaitFor(guestExit, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(vm.Started())
	res.Exit, _ = strconv.Atoi(m[1])
	res.Console = vm.Serial()
	if end := strings.LastIndex(res.Console, m[0]); end >= start {
		res.Output = res.Console[start:end]
	}
	vm.Wait(10 * time.Second) // the guest powers off by itself
	return res, nil
}

func writeGuestInitramfs(ctx context.Context, out, tmp string, g *Guest) error {
	initBin := g.Init
	if initBin == "" {
		initBin = filepath.Join(tmp, "guestinit")
		if err := gokrazy.GoBuild(ctx, "", GuestInitPackage, initBin); err != nil {
			return fmt.Errorf("qemu: %w", err)
		}
	}
	r := NewInitramfs()
	if err := r.AddFile("/init", initBin, 0o755); err != nil {
		return err
	}
	if g.Program != "" {
		if err := r.AddFile("/guest/run", g.Program, 0o755); err != nil {
			return err
		}
	}
	r.AddBytes("/guest/args", nulJoin(g.Args), 0o644)
	r.AddBytes("/guest/env", nulJoin(g.Env), 0o644)
	for dst, src := range g.Files {
		if err := r.AddFile(dst, src, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	if _, err := r.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func nulJoin(l []string) []byte {
	var b []byte
	for _, s := range l {
		b = append(append(b, s...), 0)
	}
	return b
}

// GoTest compiles the tests of Go package pkg (an import path or a
// ./relative path) for linux/amd64 and runs them inside a guest with
// -test.v and the given extra test flags (e.g. "-test.run=TestInQEMU").
// Inside, POSTVAULT_QEMU_GUEST=1 is set: a test that needs the VM checks it
// and skips otherwise. g may be nil; its Program and Args are replaced.
func GoTest(ctx context.Context, pkg string, testFlags []string, g *Guest) (*GuestResult, error) {
	var gg Guest
	if g != nil {
		gg = *g
	}
	tmp, err := os.MkdirTemp("", "postvault-gotest-")
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "pkg.test")
	if err := gokrazy.GoTestBuild(ctx, "", pkg, bin); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	gg.Program = bin
	gg.Args = append([]string{"-test.v"}, testFlags...)
	return RunGuest(ctx, &gg)
}
