package pop3_test

import (
	"strings"
	"testing"
	"time"
)

func TestMaildropLock(t *testing.T) {
	e := newEnv(t, nil)
	c1 := e.login(t, "alice", "secret")
	c2 := e.dial(t)
	c2.cmd("USER alice", "+OK")
	c2.cmd("PASS secret", "-ERR [IN-USE] maildrop already locked")
	c2.cmd("AUTH PLAIN "+b64("\x00bob\x00hunter2"), "+OK") // other accounts are free
	c1.cmd("QUIT", "+OK")
	c3 := e.dial(t)
	c3.cmd("USER alice", "+OK")
	c3.cmd("PASS secret", "+OK")
}

func TestLockReleasedOnDrop(t *testing.T) {
	e := newEnv(t, nil)
	c1 := e.login(t, "alice", "secret")
	c1.nc.Close()
	e.loginEventually(t, "alice", "secret")
}

// loginEventually logs in, retrying while the maildrop is still locked by a
// session whose connection was just dropped.
func (e *env) loginEventually(t *testing.T, user, pass string) *client {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := e.dial(t)
		c.cmd("USER "+user, "+OK")
		c.send("PASS " + pass)
		s := c.line()
		if strings.HasPrefix(s, "+OK") {
			return c
		}
		if !strings.HasPrefix(s, "-ERR [IN-USE]") || time.Now().After(deadline) {
			t.Fatalf("PASS = %q, want +OK within 10 s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
