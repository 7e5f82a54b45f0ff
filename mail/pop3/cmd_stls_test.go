package pop3_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/pop3"
)

func TestStls(t *testing.T) {
	e := newEnv(t, nil)
	e.be.Deliver("alice", msg("Subject: x", "", "body"))
	c := e.dial(t)
	c.cmd("USER alice", "+OK")
	c.cmd("STLS", "+OK begin TLS negotiation")
	c.startTLS(e.pool)
	c.cmd("PASS secret", "-ERR USER first") // USER before STLS is forgotten
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK maildrop has 1 messages")
	c.cmd("STLS", "-ERR STLS not allowed after login")
}

func TestStlsInjection(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t)
	// A man in the middle appends a command to STLS in the same packet.
	io.WriteString(c.nc, "STLS\r\nUSER mallory\r\n")
	c.expect("-ERR commands sent after STLS")
	c.closed()
}

func TestStlsUnavailable(t *testing.T) {
	e := newEnv(t, func(o *pop3.Options) { o.TLSConfig = nil })
	c := e.dial(t)
	c.cmd("STLS", "-ERR STLS not available")
}

func TestImplicitTLS(t *testing.T) {
	e := newEnv(t, nil)
	tc, err := tls.Dial("tcp", e.tlsAddr, &tls.Config{RootCAs: e.pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := &client{t: t, nc: tc, br: bufio.NewReader(tc)}
	c.expect("+OK pv.test POP3 server ready")
	c.cmd("CAPA", "+OK")
	c.multi()
	c.cmd("AUTH PLAIN "+b64("\x00bob\x00hunter2"), "+OK maildrop has 0 messages")
	c.cmd("QUIT", "+OK")
}

func TestImplicitTLSBadHandshake(t *testing.T) {
	e := newEnv(t, nil)
	nc, err := net.Dial("tcp", e.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	io.WriteString(nc, "USER alice\r\n") // plaintext on the TLS port
	c.closed()
	if !strings.Contains(e.logs.String(), "tls handshake failed") {
		t.Errorf("failed handshake not logged:\n%s", e.logs.String())
	}
}
