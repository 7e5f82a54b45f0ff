package pop3_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/postvault/postvault/mail/pop3"
)

func TestStatListUidl(t *testing.T) {
	e := newEnv(t, nil)
	m1, m2, m3 := msg("Subject: one", "", "1"), msg("Subject: two", "", "22"), msg("Subject: three", "", "333")
	u1 := e.be.Deliver("alice", m1)
	u2 := e.be.Deliver("alice", m2)
	u3 := e.be.Deliver("alice", m3)
	e.be.Expunge("alice", u2) // a gap in the UIDs
	u4 := e.be.Deliver("alice", m2)
	total := len(m1) + len(m3) + len(m2)
	c := e.login(t, "alice", "secret")

	c.cmd("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.cmd("LIST", "+OK")
	if got, want := c.multi(), []string{fmt.Sprintf("1 %d", len(m1)), fmt.Sprintf("2 %d", len(m3)), fmt.Sprintf("3 %d", len(m2))}; !slices.Equal(got, want) {
		t.Errorf("LIST = %q, want %q", got, want)
	}
	c.cmd("LIST 2", fmt.Sprintf("+OK 2 %d", len(m3)))
	c.cmd("UIDL", "+OK")
	want := []string{"1 " + pop3.UIDL(1234, u1), "2 " + pop3.UIDL(1234, u3), "3 " + pop3.UIDL(1234, u4)}
	if got := c.multi(); !slices.Equal(got, want) {
		t.Errorf("UIDL = %q, want %q", got, want)
	}
	c.cmd("UIDL 3", "+OK 3 "+pop3.UIDL(1234, u4))

	for _, bad := range []string{"LIST 0", "LIST 4", "LIST x", "LIST -1", "LIST 1 2", "UIDL 99", "STAT 1"} {
		c.cmd(bad, "-ERR")
	}
	c.cmd("DELE 1", "+OK")
	c.cmd("STAT", fmt.Sprintf("+OK 2 %d", len(m3)+len(m2)))
	c.cmd("LIST 1", "-ERR message 1 already deleted")
	c.cmd("LIST", "+OK")
	if got := c.multi(); len(got) != 2 || got[0][:2] != "2 " {
		t.Errorf("LIST after DELE 1 = %q, want messages 2 and 3", got)
	}
	c.cmd("NOOP", "+OK")
}

func TestUIDLFormat(t *testing.T) {
	if got, want := pop3.UIDL(0x5f3e1a2b, 42), "0000002A5F3E1A2B"; got != want {
		t.Errorf("UIDL(0x5f3e1a2b, 42) = %q, want %q (Dovecot's %%08Xu%%08Xv)", got, want)
	}
}

// A mailbox's listing is fixed at login: mail that arrives later is not seen.
func TestListSnapshot(t *testing.T) {
	e := newEnv(t, nil)
	e.be.Deliver("alice", msg("Subject: one", "", "1"))
	c := e.login(t, "alice", "secret")
	e.be.Deliver("alice", msg("Subject: two", "", "2"))
	c.cmd("STAT", "+OK 1 ")
	c.cmd("QUIT", "+OK")
	c = e.login(t, "alice", "secret")
	c.cmd("STAT", "+OK 2 ")
}
