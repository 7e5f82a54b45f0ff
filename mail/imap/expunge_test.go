package imap_test

import (
	"strings"
	"testing"
)

// EXPUNGE (RFC 9051 section 6.4.3), UID EXPUNGE (RFC 4315), CLOSE.
func TestExpunge(t *testing.T) {
	e := newEnv(t, nil)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		e.deliver(alice, msg(s, s))
	}
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	r.ok(`STORE 2,4,5 +FLAGS.SILENT (\Deleted)`)
	if u := r.ok("UID EXPUNGE 4:5"); len(u) != 2 || u[0] != "* 4 EXPUNGE" || u[1] != "* 4 EXPUNGE" {
		t.Errorf("UID EXPUNGE 4:5 = %q, want * 4 EXPUNGE twice", u)
	}
	if u := r.ok("EXPUNGE"); len(u) != 1 || u[0] != "* 2 EXPUNGE" {
		t.Errorf("EXPUNGE = %q, want * 2 EXPUNGE", u)
	}
	if u := r.ok("UID SEARCH ALL"); !has(u, "* SEARCH 1 3") {
		t.Errorf("left = %q, want UIDs 1 3", u)
	}
	r.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	if u := r.ok("CLOSE"); len(u) != 0 {
		t.Errorf("CLOSE = %q, want no untagged response", u)
	}
	if u := r.ok("STATUS INBOX (MESSAGES)"); !has(u, "MESSAGES 1") {
		t.Errorf("after CLOSE = %q", u)
	}
	if _, st := r.do("EXPUNGE"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("EXPUNGE without a mailbox = %q, want BAD", st)
	}
}

// CLOSE leaves the selected state even when the mailbox is gone.
func TestCloseDeletedMailbox(t *testing.T) {
	e := newEnv(t, nil)
	r := e.rawLogin(alice)
	r.ok("CREATE Gone")
	r.ok("SELECT Gone")
	e.rawLogin(alice).ok("DELETE Gone")
	r.ok("CLOSE")
	if _, st := r.do("FETCH 1 FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH after CLOSE = %q, want BAD (not selected)", st)
	}
}
