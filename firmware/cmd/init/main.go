// Command init is PID 1 of the postvault image (installed as /gokrazy/init
// by the image builder, see package gokrazy and docs/image.md).
//
// Boot is a straight list of steps, in gokrazy's manner: fatal steps print
// to the console and exit (the kernel then panics and, with panic=10,
// reboots); best-effort steps print and go on.
//
//  1. gokrazy.Boot: mounts /dev, /proc, /sys, /tmp, /run; hostname; loopback.
//  2. Console marker "postvault: booted" (the QEMU tests wait for it).
//  3. DHCP on the first Ethernet interface, in the background; the address
//     is printed as "postvault: network <iface> <addr/len> via <gateway>".
//  4. gokrazy.SuperviseServices runs `/user/postvault serve` and restarts it
//     when it exits. `postvault serve` without flags is the appliance mode:
//     real SATA disks, standard ports. When it is ready it prints one line
//     "postvault: ready imap=... pop3=... smtp=... http=...".
//
// Supervised programs' output goes to gokrazy's in-memory log, not to the
// serial console, so every marker of the init is written to /dev/console
// directly, and the service runs under this same binary as a tee
// ("/gokrazy/init -tee-console PROGRAM ARGS..."): the program's stdout and
// stderr go both to gokrazy's log and to the console, so the console shows
// the admin password at first start, the ready line and serve's log.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/gokrazy/gokrazy"
	"golang.org/x/sys/unix"
)

// buildTimestamp is set with -ldflags "-X main.buildTimestamp=...".
var buildTimestamp = "unknown"

// serveArgs is the command line of the appliance's one service.
var serveArgs = []string{"/user/postvault", "serve"}

func main() {
	if len(os.Args) > 2 && os.Args[1] == teeFlag {
		os.Exit(tee(os.Args[2:]))
	}
	if err := run(); err != nil {
		console("postvault: init: %v", err)
		os.Exit(1)
	}
	select {} // PID 1 never returns
}

func run() error {
	if err := gokrazy.Boot(buildTimestamp); err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	console("postvault: booted kernel=%s uptime=%s", kernelRelease(), uptime())

	go func() {
		if err := runDHCP(context.Background(), console); err != nil {
			console("postvault: network: %v", err)
		}
	}()

	if _, err := os.Stat(serveArgs[0]); err != nil {
		console("postvault: no %s in the image: nothing to serve", serveArgs[0])
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		self = "/gokrazy/init"
	}
	svc := gokrazy.NewService(exec.Command(self, append([]string{teeFlag}, serveArgs...)...))
	if err := gokrazy.SuperviseServices([]*gokrazy.Service{svc}); err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	return nil
}

// console writes one line to /dev/console (and to stderr when the console
// cannot be opened, e.g. in tests).
func console(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	f, err := os.OpenFile("/dev/console", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		os.Stderr.WriteString(line)
		return
	}
	defer f.Close()
	f.WriteString(line)
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// uptime returns seconds since the kernel started, from /proc/uptime.
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0] + "s"
}
