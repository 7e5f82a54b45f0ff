package imap_test

import (
	"strings"
	"testing"
)

// STORE, RFC 9051 section 6.4.6: every message of the set is reported
// with its flags after the change; a new keyword is announced in FLAGS.
func TestStore(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, msg("a", "a"))
	e.deliver(alice, msg("b", "b"))
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	tests := []struct {
		cmd  string
		want []string
	}{
		{`STORE 1 +FLAGS (\Flagged $Label1)`, []string{`* 1 FETCH (UID 1 FLAGS (\Flagged $Label1 \Recent))`, `* FLAGS (\Seen \Answered \Flagged \Deleted \Draft $Label1)`}},
		{`STORE 1:2 +FLAGS (\SEEN)`, []string{`* 1 FETCH (UID 1 FLAGS (\Seen \Flagged $Label1 \Recent))`, `* 2 FETCH (UID 2 FLAGS (\Seen \Recent))`}},
		{`STORE 1 -FLAGS ($Label1)`, []string{`* 1 FETCH (UID 1 FLAGS (\Seen \Flagged \Recent))`}},
		{`STORE 2 FLAGS (\Draft \Recent $Keep)`, []string{`* 2 FETCH (UID 2 FLAGS (\Draft $Keep \Recent))`}},
		{`UID STORE 2 +FLAGS.SILENT (\Answered)`, nil},
	}
	for _, tt := range tests {
		u := r.ok("%s", tt.cmd)
		for _, w := range tt.want {
			if !has(u, w) {
				t.Errorf("%s = %q, want %q", tt.cmd, u, w)
			}
		}
		if tt.want == nil && len(u) != 0 {
			t.Errorf("%s = %q, want nothing", tt.cmd, u)
		}
	}
	if u := r.ok("FETCH 2 FLAGS"); !has(u, `FLAGS (\Answered \Draft $Keep \Recent)`) {
		t.Errorf("FETCH 2 FLAGS = %q", u)
	}
	// A new session lists the mailbox's keywords in FLAGS and
	// PERMANENTFLAGS: $Label1 is on no message any more but stays defined
	// (RFC 9051 section 2.3.2).
	r2 := e.rawLogin(alice)
	if u := r2.ok("SELECT INBOX"); !has(u, `* FLAGS (\Seen \Answered \Flagged \Deleted \Draft $Keep $Label1)`) ||
		!has(u, `PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft $Keep $Label1 \*)`) {
		t.Errorf("SELECT after STORE = %q", u)
	}
	if _, st := r.do(`STORE 9 +FLAGS (\Seen)`); !strings.HasPrefix(st, "BAD") {
		t.Errorf("STORE 9 = %q, want BAD", st)
	}
}
