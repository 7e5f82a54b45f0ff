package imap_test

import (
	"strings"
	"testing"
)

// SELECT: RFC 9051 section 6.3.2 (and RFC 3501 section 6.3.1 for RECENT
// and UNSEEN).
func TestSelect(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, msg("one", "1"))
	e.deliver(alice, msg("two", "2"))
	r := e.rawLogin(alice)
	u := r.ok("SELECT INBOX")
	for _, want := range []string{
		"* 2 EXISTS",
		"* 2 RECENT",
		"* OK [UNSEEN 1]",
		"* OK [UIDVALIDITY ",
		"* OK [UIDNEXT 3]",
		`* FLAGS (\Seen \Answered \Flagged \Deleted \Draft)`,
		`* OK [PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft \*)]`,
	} {
		if !has(u, want) {
			t.Errorf("SELECT untagged = %q, want a line with %q", u, want)
		}
	}
	// \Recent belongs to the first session only.
	r2 := e.rawLogin(alice)
	if u := r2.ok("SELECT INBOX"); !has(u, "* 0 RECENT") {
		t.Errorf("second SELECT = %q, want 0 RECENT", u)
	}
	if u := r.ok("FETCH 1:* FLAGS"); !has(u, `* 1 FETCH (FLAGS (\Recent))`) {
		t.Errorf("FETCH FLAGS = %q, want \\Recent for the first session", u)
	}
}

func TestExamineIsReadOnly(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, msg("one", "1"))
	r := e.rawLogin(alice)
	u, st := r.do("EXAMINE INBOX")
	if !strings.HasPrefix(st, "OK [READ-ONLY]") || !has(u, "PERMANENTFLAGS ()") {
		t.Fatalf("EXAMINE = %q %q, want OK [READ-ONLY] and no permanent flags", u, st)
	}
	if _, st := r.do(`STORE 1 +FLAGS (\Seen)`); !strings.HasPrefix(st, "NO [READ-ONLY]") {
		t.Errorf("STORE in EXAMINE = %q, want NO [READ-ONLY]", st)
	}
	r.ok("FETCH 1 BODY[]")
	if u := r.ok("FETCH 1 FLAGS"); has(u, `\Seen`) {
		t.Errorf("BODY[] in EXAMINE set \\Seen: %q", u)
	}
	if u := r.ok("CLOSE"); len(u) != 0 {
		t.Errorf("CLOSE = %q", u)
	}
	if _, st := r.do("SELECT nosuch"); !strings.HasPrefix(st, "NO [NONEXISTENT]") {
		t.Errorf("SELECT nosuch = %q, want NO [NONEXISTENT]", st)
	}
}

// \Recent marks follow a mailbox that is renamed: what one session
// claimed is not recent again under the new name.
func TestRecentFollowsRename(t *testing.T) {
	e := newEnv(t, nil)
	e.deliverTo(alice, "Archive", msg("one", "1"))
	r := e.rawLogin(alice)
	if u := r.ok("SELECT Archive"); !has(u, "* 1 RECENT") {
		t.Fatalf("first SELECT = %q", u)
	}
	r.ok("UNSELECT")
	r.ok("RENAME Archive Old")
	if u := r.ok("SELECT Old"); !has(u, "* 0 RECENT") {
		t.Errorf("SELECT after RENAME = %q, want 0 RECENT", u)
	}
}
