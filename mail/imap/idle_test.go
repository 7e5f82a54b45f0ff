package imap_test

import (
	"strings"
	"testing"
	"time"
)

// Two sessions on one mailbox see each other's changes, and mail delivered
// by SMTP, in IDLE (RFC 2177) and at NOOP (RFC 9051 section 6.1.2).
func TestIdleSeesOtherSessions(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, msg("one", "1"))
	e.deliver(alice, msg("two", "2"))
	idler := e.rawLogin(alice)
	idler.ok("SELECT INBOX")
	other := e.rawLogin(alice)
	other.ok("SELECT INBOX")

	tag := idler.send("IDLE")
	if l := idler.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE = %q, want continuation", l)
	}
	expect := func(what string) {
		t.Helper()
		idler.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if l := idler.line(); !strings.Contains(l, what) {
			t.Fatalf("in IDLE got %q, want %q", l, what)
		}
	}
	e.deliver(alice, msg("three", "3"))
	expect("* 3 EXISTS")
	expect("* 3 RECENT") // the first session to select claimed them all
	other.ok(`STORE 2 +FLAGS ($Important)`)
	expect(`* FLAGS (\Seen \Answered \Flagged \Deleted \Draft $Important)`)
	expect(`* 2 FETCH (UID 2 FLAGS ($Important \Recent))`)
	other.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	expect(`* 1 FETCH (UID 1 FLAGS (\Deleted \Recent))`)
	other.ok("EXPUNGE")
	expect("* 1 EXPUNGE")
	if _, err := idler.c.Write([]byte("DONE\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, st := idler.wait(tag); !strings.HasPrefix(st, "OK") {
		t.Fatalf("IDLE ended with %q", st)
	}
	if u := idler.ok("FETCH 1:* (UID FLAGS)"); len(u) != 2 || !has(u, `* 1 FETCH (UID 2 FLAGS ($Important \Recent))`) || !has(u, `* 2 FETCH (UID 3 FLAGS (\Recent))`) {
		t.Errorf("after IDLE FETCH = %q", u)
	}
}

// Expunges by others wait until a command that allows them (RFC 9051
// section 7.5.1): not during FETCH, STORE or SEARCH, but at NOOP.
func TestExpungeDeferredDuringFetch(t *testing.T) {
	e := newEnv(t, nil)
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(alice, msg(s, s))
	}
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	other := e.rawLogin(alice)
	other.ok("SELECT INBOX")
	other.ok(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	other.ok("EXPUNGE")
	u := r.ok("FETCH 1:3 UID")
	if has(u, "EXPUNGE") {
		t.Errorf("FETCH sent EXPUNGE: %q", u)
	}
	if !has(u, "* 1 FETCH (UID 1)") || !has(u, "* 3 FETCH (UID 3)") || has(u, "UID 2)") {
		t.Errorf("FETCH 1:3 = %q, want UIDs 1 and 3 at their old numbers", u)
	}
	if u := r.ok("SEARCH ALL"); has(u, "EXPUNGE") || !has(u, "* SEARCH 1 3") {
		t.Errorf("SEARCH = %q, want old numbers and no EXPUNGE", u)
	}
	if u := r.ok("NOOP"); !has(u, "* 2 EXPUNGE") {
		t.Errorf("NOOP = %q, want * 2 EXPUNGE", u)
	}
	if u := r.ok("FETCH 2 UID"); !has(u, "* 2 FETCH (UID 3)") {
		t.Errorf("after EXPUNGE FETCH 2 = %q, want UID 3", u)
	}
}
