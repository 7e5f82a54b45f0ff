package imap_test

import (
	"io"
	"strings"
	"testing"
	"time"
)

// A command line past the library's 50 KiB limit ends the connection
// without the server holding it (RFC 2683 section 3.2.1.5 asks for 8 KiB at
// least).
func TestLongLineClosesConnection(t *testing.T) {
	e := newEnv(t, nil)
	r := e.rawLogin(alice)
	long := "a1 NOOP " + strings.Repeat("x", 200<<10) + "\r\n"
	go r.c.Write([]byte(long))
	r.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	// EOF or a reset: either way the server closed the connection.
	if _, err := io.ReadAll(r.br); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading until close: %v", err)
	}
	// The server is still fine for others.
	e.rawLogin(alice).ok("NOOP")
}

// Literals in commands other than APPEND are bounded by the library's 50
// KiB command limit: past it the connection ends, nothing is kept.
func TestLargeLiteralRefused(t *testing.T) {
	e := newEnv(t, nil)
	r := e.rawLogin(alice)
	// (A synchronizing literal over 4 KiB gets NO [SERVERBUG] only after
	// the library's 30 s read timeout: LIMITATIONS.md; not waited for here.)
	r.ok("SELECT INBOX")
	// Past the 50 KiB command limit the library ends the connection.
	r.send("SELECT {100000+}")
	r.c.Write([]byte(strings.Repeat("x", 100000) + "\r\n"))
	r.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAll(r.br); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading until close: %v", err)
	}
}

// Before login the byte budget (Options.MaxBytesBeforeLogin, 64 KiB) ends
// a connection that sends a big literal.
func TestPreAuthByteBudget(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	r.send("LOGIN {100000+}")
	r.c.Write([]byte(strings.Repeat("x", 100000) + " y\r\n"))
	r.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAll(r.br); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading until close: %v", err)
	}
}

// IMAP4rev2 has no \Recent (RFC 9051 appendix E): once a client enables
// it, FETCH FLAGS leaves it out and no RECENT is sent.
func TestRev2HasNoRecent(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, msg("a", "b"))
	r := e.rawLogin(alice)
	r.ok("ENABLE IMAP4rev2")
	u := r.ok("SELECT INBOX")
	if has(u, "RECENT") {
		t.Errorf("SELECT in rev2 = %q, want no RECENT", u)
	}
	if u := r.ok("FETCH 1 FLAGS"); !has(u, "* 1 FETCH (FLAGS ())") {
		t.Errorf("FETCH FLAGS in rev2 = %q, want no \\Recent", u)
	}
	if u := r.ok("SEARCH ALL"); !has(u, "* ESEARCH") {
		t.Errorf("SEARCH in rev2 = %q, want ESEARCH", u)
	}
}
