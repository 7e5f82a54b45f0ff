package pop3_test

import (
	"io"
	"testing"
)

// RFC 2449 section 6.6: a client may send several commands at once; the
// answers come back in order.
func TestPipelining(t *testing.T) {
	e := newEnv(t, nil)
	e.be.Deliver("alice", msg("Subject: one", "", ".dot"))
	e.be.Deliver("alice", msg("Subject: two", "", "x"))
	c := e.dial(t)
	io.WriteString(c.nc, "USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nRETR 1\r\nUIDL 2\r\nDELE 2\r\nNOOP\r\n")
	c.expect("+OK")
	c.expect("+OK maildrop has 2 messages")
	c.expect("+OK 2 ")
	c.expect("+OK")
	if got := c.multi(); len(got) != 2 {
		t.Fatalf("LIST = %q, want 2 lines", got)
	}
	c.expect("+OK")
	if got := c.multi(); len(got) != 3 || got[2] != ".dot" {
		t.Fatalf("RETR 1 = %q", got)
	}
	c.expect("+OK 2 ")
	c.expect("+OK message 2 deleted")
	c.expect("+OK")
	// A command cut in two by the network is answered when it is whole.
	io.WriteString(c.nc, "STAT\r\nLI")
	c.expect("+OK 1 ")
	io.WriteString(c.nc, "ST 1\r\n")
	c.expect("+OK 1 ")
}
