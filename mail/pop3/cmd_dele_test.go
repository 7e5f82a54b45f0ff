package pop3_test

import (
	"errors"
	"slices"
	"testing"
)

func TestDeleQuit(t *testing.T) {
	e := newEnv(t, nil)
	u1 := e.be.Deliver("alice", msg("Subject: 1", "", "a"))
	u2 := e.be.Deliver("alice", msg("Subject: 2", "", "b"))
	u3 := e.be.Deliver("alice", msg("Subject: 3", "", "c"))

	// Marks are dropped by RSET and by a connection that ends without QUIT.
	c := e.login(t, "alice", "secret")
	c.cmd("DELE 1", "+OK message 1 deleted")
	c.cmd("DELE 1", "-ERR message 1 already deleted")
	c.cmd("RETR 1", "-ERR message 1 already deleted")
	c.cmd("RSET", "+OK maildrop has 3 messages")
	c.cmd("DELE 2", "+OK")
	c.nc.Close()
	c = e.loginEventually(t, "alice", "secret") // the dropped session's lock goes soon after
	c.cmd("STAT", "+OK 3 ")

	// QUIT expunges the marked messages.
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 3", "+OK")
	c.cmd("QUIT", "+OK bye (1 messages left)")
	c.closed()
	if got, want := e.be.UIDs("alice"), []uint32{u2}; !slices.Equal(got, want) {
		t.Fatalf("UIDs after QUIT = %v, want %v (deleted %d and %d)", got, want, u1, u3)
	}
}

func TestQuitExpungeFails(t *testing.T) {
	e := newEnv(t, nil)
	e.be.Deliver("alice", msg("Subject: 1", "", "a"))
	c := e.login(t, "alice", "secret")
	c.cmd("DELE 1", "+OK")
	e.be.FailExpunge = errors.New("store read-only")
	c.cmd("QUIT", "-ERR [SYS/TEMP] some deleted messages not removed")
	c.closed()
	if got := e.be.UIDs("alice"); len(got) != 1 {
		t.Fatalf("UIDs after failed QUIT = %v, want the message kept", got)
	}
	e.be.FailExpunge = nil
	e.login(t, "alice", "secret").cmd("STAT", "+OK 1 ")
}
