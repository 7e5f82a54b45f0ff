package qemu

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The contract with `postvault serve` (firmware/appliance) that this test
// checks, on the serial console:
//
//	postvault: admin account ADDRESS, password PASSWORD ...   (first start only)
//	postvault: ready imap=ADDR ... pop3=ADDR ... smtp=ADDR ... http=ADDR ...
//
// and the services on the standard ports 143, 110, 25 and 80 of the guest.
var (
	readyRe = regexp.MustCompile(`postvault: ready( [a-z0-9]+=\S+)+\r?\n`)
	adminRe = regexp.MustCompile(`postvault: admin account (\S+), password (\S+)`)
)

// serveMissing reports why the image's postvault cannot serve yet, or "".
// The image's binary is linux/amd64 and static, so it runs on this host.
func serveMissing(_ testing.TB, image string) string {
	pv := filepath.Join(filepath.Dir(image), "postvault")
	out, _ := exec.Command(pv, "serve", "--help").CombinedOutput()
	if bytes.Contains(out, []byte("not part of this build yet")) {
		return "postvault serve is not part of this build yet"
	}
	return ""
}

// appliance is the end-to-end test's VM, rebooted between stages.
type appliance struct {
	t     *testing.T
	image string
	vm    *VM
}

// boot starts the image with disks and waits for the ready line; it
// returns the console from the start.
func (a *appliance) boot(stage string, disks []Disk, wait time.Duration) {
	a.t.Helper()
	vm, err := New(&Options{Image: a.image, Disks: disks, Forwards: MailForwards(), Memory: 1024})
	if err != nil {
		a.t.Fatal(err)
	}
	if err := vm.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.vm = vm
	start := time.Now()
	if _, err := vm.WaitFor(readyRe, wait); err != nil {
		a.t.Logf("serial console of %s:\n%s", stage, vm.Serial())
		vm.Stop()
		a.t.Fatalf("%s: %v", stage, err)
	}
	a.t.Logf("%s: ready after %s", stage, time.Since(start).Round(time.Millisecond))
}

// stop cuts the power: what SMTP acknowledged must survive it.
func (a *appliance) stop() {
	if a.vm != nil {
		a.vm.Stop()
	}
}

// shutdown presses the power button and waits for a clean power-off, as
// an admin does before swapping a disk.
func (a *appliance) shutdown(stage string) {
	a.t.Helper()
	if err := a.vm.Shutdown(3 * time.Minute); err != nil {
		a.t.Logf("serial console:\n%s", a.vm.Serial())
		a.t.Fatalf("%s: %v", stage, err)
	}
}

// checkAll reads every message over IMAP and POP3 and compares it with
// what was sent: the stored message is a trace header block followed by
// exactly the bytes sent.
func (a *appliance) checkAll(stage, user, pass string, sent [][]byte) {
	a.t.Helper()
	for _, proto := range []string{"imap", "pop3"} {
		var got [][]byte
		var err error
		if proto == "imap" {
			got, err = imapMessages(a.vm.Addr("imap"), user, pass)
		} else {
			got, err = pop3Messages(a.vm.Addr("pop3"), user, pass)
		}
		if err != nil {
			a.t.Fatalf("%s: %s: %v", stage, proto, err)
		}
		// The admin's INBOX may hold the appliance's own mail too: find
		// each sent message, in order.
		j := 0
		for _, g := range got {
			if j < len(sent) && bytes.HasSuffix(g, sent[j]) {
				j++
			}
		}
		if j != len(sent) {
			a.t.Errorf("%s: %s: %d of %d messages found bit for bit among %d", stage, proto, j, len(sent), len(got))
		}
	}
}

func TestApplianceEndToEnd(t *testing.T) {
	image := testImage(t)
	if why := serveMissing(t, image); why != "" {
		t.Skipf("skipping the mail part of the end-to-end test: %s (the boot path is tested by TestImageBoot*)", why)
	}
	dir := t.TempDir()
	disks := make([]Disk, 5)
	for i := range disks {
		disks[i] = Disk{Path: filepath.Join(dir, fmt.Sprintf("disk%d.img", i)), Size: 256 << 20}
	}
	a := &appliance{t: t, image: image}
	defer a.stop()

	// 1. Blank disks: the appliance makes the array and the admin account.
	a.boot("first boot", disks, 4*time.Minute)
	m := adminRe.FindStringSubmatch(a.vm.Serial())
	if m == nil {
		t.Fatalf("no admin account line on the console:\n%s", a.vm.Serial())
	}
	user, pass := m[1], m[2]

	// 2. Mail in over SMTP, out over IMAP and POP3.
	var sent [][]byte
	for i := 0; i < 6; i++ {
		msg := testMessage(i, user)
		if err := deliver(a.vm.Addr("smtp"), "sender@e2e.example", user, msg); err != nil {
			t.Fatalf("SMTP delivery %d: %v", i, err)
		}
		sent = append(sent, msg)
	}
	a.checkAll("after delivery", user, pass, sent)

	// 3. Power cut and boot again: everything acknowledged is still there.
	a.stop()
	a.boot("second boot", disks, 3*time.Minute)
	a.checkAll("after reboot", user, pass, sent)

	// 4. A data disk gone (taken out after a clean shutdown): still served,
	// the status page says degraded.
	a.shutdown("shutdown before pulling disk 2")
	pulled := 2
	degraded := append(append([]Disk(nil), disks[:pulled]...), disks[pulled+1:]...)
	a.boot("boot without disk 2", degraded, 3*time.Minute)
	a.checkAll("degraded", user, pass, sent)
	if page, err := statusPage(a.vm.Addr("http")); err != nil || arrayState(page) != "degraded" {
		t.Errorf("status page without disk 2: %v, state %q; want degraded:\n%s", err, arrayState(page), page)
	}
	more := testMessage(100, user)
	if err := deliver(a.vm.Addr("smtp"), "sender@e2e.example", user, more); err != nil {
		t.Errorf("SMTP delivery while degraded: %v", err)
	} else {
		sent = append(sent, more)
	}

	// 5. A blank disk in its place: rebuilt, then the array is whole again.
	a.shutdown("shutdown before inserting a blank disk")
	replaced := append([]Disk(nil), disks...)
	replaced[pulled] = Disk{Path: filepath.Join(dir, "new.img"), Size: 256 << 20, Serial: "PVDISK-NEW"}
	a.boot("boot with a blank disk", replaced, 3*time.Minute)
	if err := waitRebuilt(a.vm.Addr("http"), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	a.checkAll("after rebuild", user, pass, sent)

	// 6. The rebuilt disk carries its share: take two others away (RAID-6
	// survives two) and read everything again.
	a.shutdown("shutdown before pulling disks 0 and 1")
	a.boot("boot without disks 0 and 1", replaced[2:], 3*time.Minute)
	a.checkAll("on the rebuilt disk", user, pass, sent)
}

// stateRe finds the array's state on the status page: the element with
// id "state" (e.g. <b id="state" class="clean">clean</b>).
var stateRe = regexp.MustCompile(`id="state"[^>]*>\s*([^<\s]+)\s*<`)

// arrayState returns the array state shown on the status page, lower case.
func arrayState(page string) string {
	m := stateRe.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// waitRebuilt polls the status page until the array's state is clean.
func waitRebuilt(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var page string
	for time.Now().Before(deadline) {
		p, err := statusPage(addr)
		if err == nil {
			page = p
			if arrayState(p) == "clean" {
				return nil
			}
		}
		time.Sleep(3 * time.Second)
	}
	return fmt.Errorf("array not rebuilt within %s: state %q; status page:\n%s", timeout, arrayState(page), page)
}

// testMessage returns message i: CRLF lines, a dot-stuffing case, 8-bit
// UTF-8, and a body large enough to span several RAID chunks for some i.
func testMessage(i int, to string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender <sender@e2e.example>\r\nTo: %s\r\nSubject: e2e message %d\r\n", to, i)
	fmt.Fprintf(&b, "Message-ID: <e2e-%d@e2e.example>\r\nDate: Sat, 28 Nov 2026 12:00:%02d +0000\r\n", i, i%60)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "Message %d. Grüße, 日本語.\r\n.a line that starts with a dot\r\n", i)
	lines := 10
	if i%3 == 2 {
		lines = 20000 // about 1.4 MB
	}
	for l := 0; l < lines; l++ {
		fmt.Fprintf(&b, "line %06d of message %d: the quick brown fox jumps over the lazy dog\r\n", l, i)
	}
	return b.Bytes()
}

func TestArrayState(t *testing.T) {
	tests := []struct{ page, want string }{
		{`<style>.degraded,.rebuilding{}</style><p>state <b id="state" class="clean">clean</b></p><p>rebuild: 100.0% done</p>`, "clean"},
		{`<b id="state" class="degraded">Degraded</b>`, "degraded"},
		{`<p>no state here: degraded</p>`, ""},
	}
	for _, tt := range tests {
		if got := arrayState(tt.page); got != tt.want {
			t.Errorf("arrayState(%q) = %q, want %q", tt.page, got, tt.want)
		}
	}
}
