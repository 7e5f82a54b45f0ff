package smtp_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/certs"
	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/smtp/smtptest"
)

var testTLS = sync.OnceValues(func() (*certs.Holder, error) {
	c, k, err := certs.SelfSigned([]string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		return nil, err
	}
	return certs.NewHolder(c, k)
})

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

// fixedNow is the clock of the test servers.
var fixedNow = time.Date(2026, 11, 28, 19, 30, 0, 0, time.UTC)

type env struct {
	be   *smtptest.Backend
	srv  *smtp.Server
	addr string
	pool *x509.CertPool
	logs *logBuffer
}

// newEnv starts an SMTP (or LMTP) server for example.org with accounts
// alice@ and bob@ (quota 1 MB), alias info@ -> alice@, catch-all for
// example.net -> bob@.
func newEnv(t testing.TB, lmtp bool, adjust func(*smtp.Options), wrap func(*smtptest.Backend) smtp.Backend) *env {
	t.Helper()
	h, err := testTLS()
	if err != nil {
		t.Fatal(err)
	}
	be := smtptest.New()
	be.AddUser("alice@example.org", 0)
	be.AddUser("bob@example.org", 1<<20)
	be.AddAlias("info@example.org", "alice@example.org")
	be.AddAlias("@example.net", "bob@example.org")
	logs := &logBuffer{}
	opts := &smtp.Options{
		LMTP:            lmtp,
		Hostname:        "mx.example.org",
		TLSConfig:       h.TLSConfig(),
		MaxMessageBytes: 10 << 20,
		Logger:          slog.New(slog.NewTextHandler(logs, nil)),
		Now:             func() time.Time { return fixedNow },
	}
	if adjust != nil {
		adjust(opts)
	}
	var b smtp.Backend = be
	if wrap != nil {
		b = wrap(be)
	}
	srv, err := smtp.New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	pool := x509.NewCertPool()
	pool.AddCert(h.Certificate().Leaf)
	return &env{be: be, srv: srv, addr: l.Addr().String(), pool: pool, logs: logs}
}

type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// dial connects and reads the greeting.
func (e *env) dial(t testing.TB) *client {
	t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.expect("220 ")
	return c
}

// hello dials and says EHLO (or LHLO).
func (e *env) hello(t testing.TB, lmtp bool) *client {
	c := e.dial(t)
	verb := "EHLO"
	if lmtp {
		verb = "LHLO"
	}
	c.send(verb + " client.example.com")
	c.reply()
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// reply reads one reply, all its lines, and returns them joined by "\n".
func (c *client) reply() string {
	c.t.Helper()
	var lines []string
	for {
		c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		s, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (got %q)", err, s)
		}
		s = strings.TrimSuffix(s, "\r\n")
		lines = append(lines, s)
		if len(s) < 4 || s[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

func (c *client) expect(prefix string) string {
	c.t.Helper()
	r := c.reply()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("reply = %q, want prefix %q", r, prefix)
	}
	return r
}

func (c *client) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(prefix)
}

// data sends DATA, the message (dot-stuffed here) and ".".
func (c *client) data(msg string) {
	c.t.Helper()
	c.cmd("DATA", "354")
	var b strings.Builder
	for _, l := range strings.SplitAfter(msg, "\r\n") {
		if strings.HasPrefix(l, ".") {
			b.WriteString(".")
		}
		b.WriteString(l)
	}
	if !strings.HasSuffix(msg, "\r\n") {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	c.nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) startTLS(pool *x509.CertPool) {
	c.t.Helper()
	tc := tls.Client(c.nc, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.nc, c.br = tc, bufio.NewReader(tc)
}

// split returns a stored copy's trace fields and the rest.
func split(t testing.TB, stored []byte) (trace, rest string) {
	t.Helper()
	s := string(stored)
	i := strings.Index(s, "Received: ")
	if i < 0 {
		t.Fatalf("stored copy has no Received field:\n%s", s)
	}
	j := strings.Index(s[i:], "\r\n") + i + 2
	for j < len(s) && s[j] == '\t' {
		j = strings.Index(s[j:], "\r\n") + j + 2
	}
	return s[:j], s[j:]
}

func mustDial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc, bufio.NewReader(nc)
}
