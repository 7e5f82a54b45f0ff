package pop3_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/certs"
	"github.com/postvault/postvault/mail/pop3"
	"github.com/postvault/postvault/mail/pop3/pop3test"
)

// env is a running server on 127.0.0.1 with its backend.
type env struct {
	be      *pop3test.Backend
	srv     *pop3.Server
	addr    string // plain POP3
	tlsAddr string // implicit TLS
	pool    *x509.CertPool
	logs    *logBuffer
}

// testTLS makes one self-signed certificate for the whole test binary.
var testTLS = sync.OnceValues(func() (*certs.Holder, error) {
	c, k, err := certs.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		return nil, err
	}
	return certs.NewHolder(c, k)
})

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newEnv starts a server with accounts alice/secret (UIDVALIDITY 1234) and
// bob/hunter2; opts may adjust the options (TLS and a logger are set).
func newEnv(t testing.TB, adjust func(*pop3.Options)) *env {
	t.Helper()
	h, err := testTLS()
	if err != nil {
		t.Fatal(err)
	}
	be := pop3test.New()
	be.AddAccount("alice", "secret", 1234)
	be.AddAccount("bob", "hunter2", 7)
	logs := &logBuffer{}
	opts := &pop3.Options{
		TLSConfig:    h.TLSConfig(),
		Hostname:     "pv.test",
		FailureDelay: -1,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if adjust != nil {
		adjust(opts)
	}
	srv, err := pop3.New(be, opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	go srv.ServeTLS(lt)
	t.Cleanup(func() { srv.Close() })
	pool := x509.NewCertPool()
	pool.AddCert(h.Certificate().Leaf)
	return &env{be: be, srv: srv, addr: l.Addr().String(), tlsAddr: lt.Addr().String(), pool: pool, logs: logs}
}

// client is a hand-driven POP3 client for scenario tests.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func (e *env) dial(t testing.TB) *client {
	t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.expect("+OK pv.test POP3 server ready")
	return c
}

// login dials and logs in as user.
func (e *env) login(t testing.TB, user, pass string) *client {
	t.Helper()
	c := e.dial(t)
	c.cmd("USER "+user, "+OK")
	c.cmd("PASS "+pass, "+OK maildrop has")
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

func (c *client) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, s)
	}
	if !strings.HasSuffix(s, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", s)
	}
	return strings.TrimSuffix(s, "\r\n")
}

// expect reads a line and checks that it starts with prefix.
func (c *client) expect(prefix string) string {
	c.t.Helper()
	s := c.line()
	if !strings.HasPrefix(s, prefix) {
		c.t.Fatalf("response = %q, want prefix %q", s, prefix)
	}
	return s
}

// cmd sends line and expects a response starting with prefix.
func (c *client) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(prefix)
}

// multi reads the rest of a multi-line response up to ".", undoing
// dot-stuffing, and returns its lines.
func (c *client) multi() []string {
	c.t.Helper()
	var lines []string
	for {
		s := c.line()
		if s == "." {
			return lines
		}
		if strings.HasPrefix(s, ".") {
			s = s[1:]
		}
		lines = append(lines, s)
	}
}

// closed checks that the server closed the connection.
func (c *client) closed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if s, err := c.br.ReadString('\n'); err == nil {
		c.t.Fatalf("read %q, want the connection closed", s)
	}
}

// startTLS upgrades c after a +OK to STLS.
func (c *client) startTLS(pool *x509.CertPool) {
	c.t.Helper()
	tc := tls.Client(c.nc, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.nc, c.br = tc, bufio.NewReader(tc)
}

// msg builds a message with CRLF line ends from lines.
func msg(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

var errSome = errors.New("some store error")

func newReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }

func mustListen(t testing.TB) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// e0 is a backend that nobody logs in to.
type e0 struct{}

func (e0) Login(context.Context, string, string, string) (pop3.Maildrop, error) {
	return nil, pop3.ErrAuthFailed
}
