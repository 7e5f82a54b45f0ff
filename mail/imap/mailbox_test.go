package imap_test

import (
	"strings"
	"testing"
)

// CREATE, DELETE, RENAME (RFC 9051 sections 6.3.4 to 6.3.6), STATUS
// (6.3.11), NAMESPACE (RFC 2342).
func TestMailboxCommands(t *testing.T) {
	e := newEnv(t, nil)
	r := e.rawLogin(alice)
	tests := []struct {
		cmd, status string
	}{
		{`CREATE Projects/`, "OK"},
		{`CREATE Projects`, "NO [ALREADYEXISTS]"},
		{`CREATE inbox`, "NO [ALREADYEXISTS]"},
		{`CREATE "a*b"`, "NO [CANNOT]"},
		// An 8-bit atom is not a mailbox name; the library answers
		// NO [SERVERBUG] where BAD is right (LIMITATIONS.md).
		{`RENAME Projects Проекты`, "NO"},
		{`RENAME Projects "&BB8EQAQ+BDUEOgRCBEs-"`, "OK"},
		{`RENAME nosuch other`, "NO [NONEXISTENT]"},
		{`DELETE INBOX`, "NO [CANNOT]"},
		{`DELETE "&BB8EQAQ+BDUEOgRCBEs-"`, "OK"},
		{`DELETE nosuch`, "NO [NONEXISTENT]"},
		{`STATUS nosuch (MESSAGES)`, "NO [NONEXISTENT]"},
	}
	for _, tt := range tests {
		if _, st := r.do("%s", tt.cmd); !strings.HasPrefix(st, tt.status) {
			t.Errorf("%s = %q, want %s", tt.cmd, st, tt.status)
		}
	}
	e.deliver(alice, msg("x", "hello"))
	if u := r.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE APPENDLIMIT)"); !has(u, "MESSAGES 1", "UIDNEXT 2", "UNSEEN 1", "DELETED 0", "SIZE ", "APPENDLIMIT 52428800", "RECENT 1") {
		t.Errorf("STATUS = %q", u)
	}
	if u := r.ok("NAMESPACE"); !has(u, `* NAMESPACE (("" "/")) NIL NIL`) {
		t.Errorf("NAMESPACE = %q", u)
	}
	// RENAME INBOX moves its messages (RFC 9051 section 6.3.6).
	r.ok("RENAME INBOX Old")
	if u := r.ok("STATUS Old (MESSAGES)"); !has(u, "MESSAGES 1") {
		t.Errorf("after RENAME INBOX, Old = %q", u)
	}
	if u := r.ok("STATUS INBOX (MESSAGES)"); !has(u, "MESSAGES 0") {
		t.Errorf("after RENAME INBOX, INBOX = %q", u)
	}
}
