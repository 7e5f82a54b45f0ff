package qemu

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Wait waits up to timeout for QEMU to exit by itself (the guest powered
// off, rebooted or panicked).
func (vm *VM) Wait(timeout time.Duration) error {
	select {
	case <-vm.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("qemu: still running after %s", timeout)
	}
}

// Exited is closed when QEMU has exited.
func (vm *VM) Exited() <-chan struct{} { return vm.exited }

// Shutdown presses the ACPI power button (the QEMU monitor's
// system_powerdown) and waits up to timeout for the guest to power off:
// gokrazy then stops its services with SIGTERM (postvault serve closes its
// store and marks the array clean) and powers off. If the guest is still
// running after timeout, Shutdown kills QEMU and says so.
func (vm *VM) Shutdown(timeout time.Duration) error {
	if vm.cmd == nil {
		return nil
	}
	select {
	case <-vm.exited:
		return nil
	default:
	}
	conn, err := net.DialTimeout("unix", filepath.Join(vm.tmp, "monitor.sock"), 10*time.Second)
	if err != nil {
		vm.Stop()
		return fmt.Errorf("qemu: monitor: %w", err)
	}
	err = monitorCommand(conn, "system_powerdown")
	conn.Close()
	if err != nil {
		vm.Stop()
		return fmt.Errorf("qemu: monitor: %w", err)
	}
	if err := vm.Wait(timeout); err != nil {
		vm.Stop()
		return fmt.Errorf("qemu: the guest did not power off within %s after the power button; killed", timeout)
	}
	return nil
}

// Stop ends QEMU like pulling the power cord (SIGKILL) and waits for it.
// The data disks keep what the guest had written to them (cache=unsafe
// only skips host flushes). Stop on a VM that has exited is a no-op.
func (vm *VM) Stop() error {
	if vm.cmd == nil {
		return nil
	}
	select {
	case <-vm.exited:
		return nil
	default:
	}
	vm.cmd.Process.Kill()
	<-vm.exited
	return nil
}

// monitorCommand runs one human-monitor command: it waits for the prompt
// (QEMU ignores input sent before it), sends the command and waits for
// the next prompt.
func monitorCommand(conn net.Conn, command string) error {
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	prompt := func() error {
		var got []byte
		buf := make([]byte, 512)
		for !bytes.Contains(got, []byte("(qemu) ")) {
			n, err := conn.Read(buf)
			if err != nil {
				return err
			}
			got = append(got, buf[:n]...)
		}
		return nil
	}
	if err := prompt(); err != nil {
		return err
	}
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		return err
	}
	return prompt()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("qemu: choosing a host port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	return nil
}
