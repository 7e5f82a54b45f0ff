// Command guestinit is PID 1 of the initramfs that qemu.RunGuest boots: it
// mounts /dev, /proc, /sys, /tmp and /run, runs /guest/run (the program
// under test) with the arguments in /guest/args and the environment in
// /guest/env (NUL-separated), its output on the console, then prints
//
//	postvault-guest: exit=N
//
// and powers the machine off. Without /guest/run it prints
// "postvault-guest: hello" and powers off (the boot-time reference of the
// benchmarks).
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	con, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		con = os.Stderr
	}
	code := run(con)
	fmt.Fprintf(con, "postvault-guest: exit=%d\n", code)
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func run(con *os.File) int {
	mounts := []struct{ src, dst, fs string }{
		{"devtmpfs", "/dev", "devtmpfs"}, {"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"},
		{"tmpfs", "/tmp", "tmpfs"}, {"tmpfs", "/run", "tmpfs"},
	}
	for _, m := range mounts {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fs, 0, ""); err != nil && err != unix.EBUSY {
			fmt.Fprintf(con, "postvault-guest: mount %s: %v\n", m.dst, err)
			return 125
		}
	}
	up, _ := os.ReadFile("/proc/uptime")
	if _, err := os.Stat("/guest/run"); err != nil {
		fmt.Fprintf(con, "postvault-guest: hello uptime=%ss\n", strings.Fields(string(up) + " ?")[0])
		return 0
	}
	fmt.Fprintf(con, "postvault-guest: run uptime=%ss\n", strings.Fields(string(up) + " ?")[0])
	cmd := exec.Command("/guest/run", nulList("/guest/args")...)
	cmd.Env = append([]string{"PATH=/guest:/bin", "HOME=/tmp", "TMPDIR=/tmp", "POSTVAULT_QEMU_GUEST=1"},
		nulList("/guest/env")...)
	cmd.Dir = "/tmp"
	cmd.Stdout, cmd.Stderr = con, con
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(con, "postvault-guest: %v\n", err)
		return 126
	}
	return 0
}

func nulList(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil || len(b) == 0 {
		return nil
	}
	var out []string
	for _, f := range bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0}) {
		out = append(out, string(f))
	}
	return out
}
