package qemu

import (
	"regexp"
	"testing"
)

// A kernel message that broke into one of our lines on CI's console
// (2026-11-29) must not end up inside what WaitFor matches.
func TestConsoleKernelMessageInsideLine(t *testing.T) {
	vm := &VM{grew: make(chan struct{})}
	w := consoleWriter{vm}
	for _, piece := range []string{
		"[    5.801234] ahci 0000:00:1f.2: ok\n",
		"postvault: network eth0 10.0.2.15/24 via 10.0.2.2",
		"[    5.890436] postvault (106) used greatest stack depth: 12904 bytes left\n",
		"\n", "postvault: rea", "dy imap=:143\n", "tail without newline",
	} {
		w.Write([]byte(piece))
	}
	want := "[    5.801234] ahci 0000:00:1f.2: ok\n" +
		"[    5.890436] postvault (106) used greatest stack depth: 12904 bytes left\n" +
		"postvault: network eth0 10.0.2.15/24 via 10.0.2.2\n" +
		"postvault: ready imap=:143\n"
	if got := vm.lines.String(); got != want {
		t.Errorf("lines:\n%q\nwant\n%q", got, want)
	}
	n, err := vm.WaitFor(networkRe, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n[3] != "10.0.2.2" {
		t.Errorf("gateway %q", n[3])
	}
	if _, err := vm.WaitFor(regexp.MustCompile(`postvault: ready imap=(\S+)\n`), 0); err != nil {
		t.Fatal(err)
	}
	if vm.Serial() != "[    5.801234] ahci 0000:00:1f.2: ok\npostvault: network eth0 10.0.2.15/24 via 10.0.2.2[    5.890436] postvault (106) used greatest stack depth: 12904 bytes left\n\npostvault: ready imap=:143\ntail without newline" {
		t.Errorf("Serial() is not the console as it came: %q", vm.Serial())
	}
}
