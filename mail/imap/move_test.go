package imap_test

import (
	"strings"
	"testing"
)

// MOVE, RFC 6851: untagged COPYUID, then EXPUNGE per message.
func TestMove(t *testing.T) {
	e := newEnv(t, nil)
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(alice, msg(s, s))
	}
	watcher := e.rawLogin(alice)
	watcher.ok("SELECT INBOX")
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	u := r.ok("MOVE 1:2 Trash")
	if len(u) != 3 || !strings.HasPrefix(u[0], "* OK [COPYUID ") || u[1] != "* 1 EXPUNGE" || u[2] != "* 1 EXPUNGE" {
		t.Errorf("MOVE 1:2 = %q, want COPYUID then two * 1 EXPUNGE", u)
	}
	if u := r.ok("UID MOVE 3 Trash"); !has(u, "* 1 EXPUNGE") {
		t.Errorf("UID MOVE 3 = %q", u)
	}
	if u := watcher.ok("NOOP"); len(u) != 3 || !has(u, "* 1 EXPUNGE") {
		t.Errorf("other session after MOVE = %q, want three EXPUNGE", u)
	}
	if u := r.ok("STATUS Trash (MESSAGES UIDNEXT)"); !has(u, "MESSAGES 3 UIDNEXT 4") {
		t.Errorf("STATUS Trash = %q", u)
	}
	r.ok("EXAMINE Trash")
	if _, st := r.do("MOVE 1 INBOX"); !strings.HasPrefix(st, "NO [READ-ONLY]") {
		t.Errorf("MOVE from EXAMINE = %q", st)
	}
}
