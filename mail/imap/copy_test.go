package imap_test

import (
	"strings"
	"testing"
)

// COPY with COPYUID (RFC 4315), TRYCREATE for a missing mailbox.
func TestCopy(t *testing.T) {
	e := newEnv(t, nil)
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(alice, msg(s, s))
	}
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	if _, st := r.do("COPY 2:3 Archive"); !strings.HasPrefix(st, "OK [COPYUID ") || !strings.Contains(st, " 2:3 1:2]") {
		t.Errorf("COPY = %q, want OK [COPYUID v 2:3 1:2]", st)
	}
	if _, st := r.do("UID COPY 1 Archive"); !strings.Contains(st, " 1 3]") {
		t.Errorf("UID COPY = %q, want COPYUID v 1 3", st)
	}
	if _, st := r.do("COPY 1 nosuch"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("COPY to a missing mailbox = %q", st)
	}
	if u := r.ok("STATUS Archive (MESSAGES)"); !has(u, "MESSAGES 3") {
		t.Errorf("STATUS Archive = %q", u)
	}
	// Copying into the selected mailbox announces the copies.
	if u := r.ok("COPY 1 INBOX"); !has(u, "* 4 EXISTS") {
		t.Errorf("COPY into itself = %q, want * 4 EXISTS", u)
	}
}
