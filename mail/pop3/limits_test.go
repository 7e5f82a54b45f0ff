package pop3_test

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/pop3"
)

func TestLineTooLong(t *testing.T) {
	e := newEnv(t, func(o *pop3.Options) { o.MaxLineLength = 100 })
	c := e.dial(t)
	c.cmd("USER "+strings.Repeat("a", 5000), "-ERR line too long")
	c.cmd("USER alice", "+OK") // the session goes on
	c.cmd("PASS secret", "+OK")
}

func TestCommandsBeforeLogin(t *testing.T) {
	e := newEnv(t, func(o *pop3.Options) { o.MaxCommandsBeforeLogin = 5 })
	c := e.dial(t)
	for i := 0; i < 5; i++ {
		c.cmd("NOOP", "-ERR NOOP not allowed before login")
	}
	c.cmd("CAPA", "-ERR too many commands before login")
	c.closed()
}

func TestUnknownAndMalformed(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t)
	for _, tt := range []struct{ send, want string }{
		{"XYZZ", "-ERR unknown command XYZZ"},
		{"", "-ERR empty command"},
		{"LONGER arg", "-ERR bad command keyword"},
		{"US\x01R x", "-ERR control character in command"},
		{"APOP alice 0123", "-ERR unknown command APOP"},
	} {
		c.cmd(tt.send, tt.want)
	}
	c.cmd("user alice", "+OK") // keywords are case-insensitive
	c.cmd("pass secret", "+OK")
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, func(o *pop3.Options) { o.IdleTimeout = 200 * time.Millisecond })
	c := e.dial(t)
	c.cmd("USER alice", "+OK")
	start := time.Now()
	c.closed()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle connection closed after %v, want about 200ms", d)
	}
}

func TestConnectionsPerAddress(t *testing.T) {
	e := newEnv(t, func(o *pop3.Options) { o.Conns = limits.NewConns(2) })
	e.dial(t)
	e.dial(t)
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, nc: nc}
	c.br = newReader(nc)
	c.expect("-ERR [SYS/TEMP] too many connections from your address")
	c.closed()

	// On port 995 the refusal comes inside TLS, the only thing a TLS client
	// reads; the limit counts both ports together.
	tc, err := tls.Dial("tcp", e.tlsAddr, &tls.Config{RootCAs: e.pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("TLS connection past the limit: %v, want a handshake and -ERR", err)
	}
	defer tc.Close()
	ct := &client{t: t, nc: tc}
	ct.br = newReader(tc)
	ct.expect("-ERR [SYS/TEMP] too many connections from your address")
	ct.closed()
}

func TestBackendErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.be.FailLogin = errSome
	c := e.dial(t)
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [SYS/TEMP] cannot open the maildrop now")
	e.be.FailLogin = &pop3.Error{Code: pop3.CodeSysPerm, Text: "account disabled"}
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [SYS/PERM] account disabled")
	e.be.FailLogin = pop3.ErrInUse
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [IN-USE]")
}

func TestCloseEndsSessions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login(t, "alice", "secret")
	done := make(chan struct{})
	go func() { e.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	c.closed()
	if err := e.srv.Serve(mustListen(t)); err != pop3.ErrServerClosed {
		t.Fatalf("Serve after Close = %v, want ErrServerClosed", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := pop3.New(nil, nil); err == nil {
		t.Error("New(nil backend) = nil error")
	}
	if _, err := pop3.New(e0{}, &pop3.Options{MaxLineLength: 10}); err == nil {
		t.Error("New(MaxLineLength 10) = nil error")
	}
	if _, err := pop3.New(e0{}, &pop3.Options{IdleTimeout: -1}); err == nil {
		t.Error("New(IdleTimeout -1) = nil error")
	}
}
