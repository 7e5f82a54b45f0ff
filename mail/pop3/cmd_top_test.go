package pop3_test

import (
	"testing"
)

func TestTop(t *testing.T) {
	stored := "From: a@example.org\r\nSubject: Тема\r\n\r\nline 1\r\n.line 2\r\n\r\nline 4\r\n"
	tests := []struct {
		n    string
		want string
	}{
		{"0", "From: a@example.org\r\nSubject: Тема\r\n\r\n"},
		{"1", "From: a@example.org\r\nSubject: Тема\r\n\r\nline 1\r\n"},
		{"2", "From: a@example.org\r\nSubject: Тема\r\n\r\nline 1\r\n.line 2\r\n"},
		{"3", "From: a@example.org\r\nSubject: Тема\r\n\r\nline 1\r\n.line 2\r\n\r\n"},
		{"100", stored},
	}
	e := newEnv(t, nil)
	e.be.Deliver("alice", []byte(stored))
	e.be.Deliver("alice", []byte("Subject: only a header\r\n"))
	e.be.Deliver("alice", []byte("Subject: lf\n\nfirst\nsecond\n"))
	c := e.login(t, "alice", "secret")
	for _, tt := range tests {
		c.cmd("TOP 1 "+tt.n, "+OK")
		if got := string(c.readMulti()); got != tt.want {
			t.Errorf("TOP 1 %s = %q, want %q", tt.n, got, tt.want)
		}
	}
	c.cmd("TOP 2 5", "+OK")
	if got, want := string(c.readMulti()), "Subject: only a header\r\n"; got != want {
		t.Errorf("TOP of a header-only message = %q, want %q", got, want)
	}
	// Bare LF line ends are found too, and sent as CRLF.
	c.cmd("TOP 3 1", "+OK")
	if got, want := string(c.readMulti()), "Subject: lf\r\n\r\nfirst\r\n"; got != want {
		t.Errorf("TOP 3 1 of a LF message = %q, want %q", got, want)
	}
	for _, bad := range []string{"TOP 1", "TOP 1 -1", "TOP x 1", "TOP 4 0", "TOP 1 1 1"} {
		c.cmd(bad, "-ERR")
	}
}
