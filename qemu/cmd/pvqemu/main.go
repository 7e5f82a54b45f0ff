// Command pvqemu boots a postvault image in QEMU with persistent virtual
// SATA disks and prints the host addresses of the appliance's services
// (what `make qemu` runs):
//
//	pvqemu -image build/postvault.img -disks build/qemu [-n 5] [-uefi]
//
// The disks are DIR/disk0.img ... created sparse (-size) the first time and
// kept afterwards, with ATA serials PVDISK0 ... The console is copied to
// standard output. Ctrl-C (or SIGTERM) presses the power button: the
// appliance shuts down cleanly and powers off; a second one pulls the plug.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/postvault/postvault/qemu"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pvqemu:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("pvqemu", flag.ContinueOnError)
	image := fs.String("image", "build/postvault.img", "boot image")
	dir := fs.String("disks", "build/qemu", "folder of the data disks")
	n := fs.Int("n", 5, "number of data disks")
	size := fs.Int64("size", 1<<30, "size of a new data disk in bytes")
	uefi := fs.Bool("uefi", false, "boot through OVMF and systemd-boot instead of -kernel")
	mem := fs.Int("m", 1024, "memory in MiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *n < 0 || *n > qemu.MaxDisks {
		fs.Usage()
		return errors.New("usage: pvqemu [-image IMG] [-disks DIR] [-n 0..6] [-uefi]")
	}
	o := &qemu.Options{Image: *image, Forwards: qemu.MailForwards(), Memory: *mem, Log: w}
	if *uefi {
		o.Mode = qemu.UEFI
	}
	for i := 0; i < *n; i++ {
		o.Disks = append(o.Disks, qemu.Disk{
			Path: filepath.Join(*dir, "disk"+strconv.Itoa(i)+".img"), Size: *size})
	}
	vm, err := qemu.New(o)
	if err != nil {
		return err
	}
	if err := vm.Start(); err != nil {
		return err
	}
	defer vm.Stop()
	fmt.Fprintf(w, "pvqemu: %s booting (TCG, %s)\n", *image, map[bool]string{false: "-kernel", true: "UEFI"}[*uefi])
	for _, d := range vm.Disks() {
		fmt.Fprintf(w, "pvqemu: disk %s serial %s\n", d.Path, d.Serial)
	}
	for _, f := range vm.Forwards() {
		fmt.Fprintf(w, "pvqemu: %-4s guest :%-3d -> %s\n", f.Name, f.Guest, vm.Addr(f.Name))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case s := <-sig:
		fmt.Fprintf(w, "\npvqemu: %v: pressing the power button (again to pull the plug)\n", s)
		done := make(chan error, 1)
		go func() { done <- vm.Shutdown(2 * time.Minute) }()
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-sig:
			fmt.Fprintln(w, "pvqemu: pulling the plug")
		}
	case <-vm.Exited():
		fmt.Fprintln(w, "pvqemu: the VM exited")
	}
	return nil
}
