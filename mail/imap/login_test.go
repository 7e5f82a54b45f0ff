package imap_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postvault/postvault/mail/certs"
	"github.com/postvault/postvault/mail/imap"
	"github.com/postvault/postvault/mail/limits"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// LOGIN (RFC 9051 section 6.2.3): the store's password check, failures
// rate-limited per address and account, a log line each.
func TestLoginFailuresLimited(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, &imap.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Logins: limits.NewLogins(&limits.LoginOptions{MaxPerAddr: 3}),
	})
	r := e.raw()
	for i := 0; i < 3; i++ {
		if _, st := r.do(`LOGIN %s wrong`, alice); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("wrong password %d = %q", i, st)
		}
	}
	if _, st := r.do(`LOGIN %s %q`, alice, password); !strings.HasPrefix(st, "NO [UNAVAILABLE]") {
		t.Errorf("fourth attempt, right password = %q, want NO [UNAVAILABLE]", st)
	}
	if n := strings.Count(logs.String(), "imap: login failed"); n != 3 {
		t.Errorf("%d failure log lines, want 3:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "imap: login refused") {
		t.Errorf("no log line for the refused attempt:\n%s", logs.String())
	}
}

func TestAuthenticatePlain(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + alice + "\x00" + password))
	if _, st := r.do("AUTHENTICATE PLAIN %s", ir); !strings.HasPrefix(st, "OK") {
		t.Fatalf("AUTHENTICATE PLAIN (SASL-IR) = %q", st)
	}
	u := r.ok("CAPABILITY")
	for _, c := range []string{"IMAP4rev1", "IMAP4rev2", "IDLE", "MOVE", "UIDPLUS", "NAMESPACE", "SPECIAL-USE", "LIST-STATUS", "LIST-EXTENDED",
		"ESEARCH", "SEARCHRES", "LITERAL+", "UTF8=ACCEPT", "UNSELECT", "APPENDLIMIT=", "BINARY", "STATUS=SIZE", "CHILDREN", "ENABLE", "UNAUTHENTICATE"} {
		if !has(u, " "+c) {
			t.Errorf("CAPABILITY = %q, want %s", u, c)
		}
	}
	r.ok("UNAUTHENTICATE")
	if _, st := r.do("SELECT INBOX"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("SELECT after UNAUTHENTICATE = %q, want BAD", st)
	}
	r.ok(`LOGIN %s %q`, bob, password)
}

// remoteListener makes connections look as if they came from addr.
type remoteListener struct {
	net.Listener
	addr net.Addr
}

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{c, l.addr}, nil
}

type remoteConn struct {
	net.Conn
	addr net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.addr }

func tlsConfig(t *testing.T) *tls.Config {
	certPEM, keyPEM, err := certs.SelfSigned([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := certs.NewHolder(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return h.TLSConfig()
}

// Plaintext LOGIN from the LAN is refused until STARTTLS (RFC 9051
// section 6.2.1, RFC 8314).
func TestLoginNeedsTLSOffLoopback(t *testing.T) {
	st := newStore(t, 64<<20)
	lan := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}
	e := startServer(t, st, &imap.Options{TLSConfig: tlsConfig(t)}, func(l net.Listener) net.Listener { return remoteListener{l, lan} })
	r := e.raw()
	if u := r.ok("CAPABILITY"); !has(u, "LOGINDISABLED", "STARTTLS") || has(u, "AUTH=PLAIN") {
		t.Errorf("CAPABILITY off loopback = %q, want LOGINDISABLED and STARTTLS", u)
	}
	if _, st := r.do(`LOGIN %s %q`, alice, password); !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
		t.Errorf("plaintext LOGIN off loopback = %q", st)
	}
	c, err := imapclient.DialStartTLS(e.addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice, password).Wait(); err != nil {
		t.Errorf("LOGIN after STARTTLS: %v", err)
	}
}

// Implicit TLS (port 993): the caller wraps the listener.
func TestImplicitTLS(t *testing.T) {
	st := newStore(t, 64<<20)
	cfg := tlsConfig(t)
	e := startServer(t, st, &imap.Options{TLSConfig: cfg}, func(l net.Listener) net.Listener { return tls.NewListener(l, cfg) })
	c, err := imapclient.DialTLS(e.addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if caps.Has("STARTTLS") || caps.Has("LOGINDISABLED") {
		t.Errorf("CAPABILITY on TLS = %v, want no STARTTLS, no LOGINDISABLED", caps)
	}
	if err := c.Login(alice, password).Wait(); err != nil {
		t.Errorf("LOGIN over TLS: %v", err)
	}
}

// Limits before login: command lines (RFC 9051 section 11.1 leaves them
// to the server).
func TestPreAuthLimits(t *testing.T) {
	e := newEnv(t, &imap.Options{MaxCommandsBeforeLogin: 5})
	r := e.raw()
	for i := 0; i < 5; i++ {
		r.ok("NOOP")
	}
	r.send("NOOP")
	if l := r.line(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("sixth command before login = %q, want BYE", l)
	}
	// Logged in, the limit is gone.
	r2 := e.rawLogin(alice)
	for i := 0; i < 10; i++ {
		r2.ok("NOOP")
	}
}

// Connections per address (mail/limits).
func TestConnLimit(t *testing.T) {
	e := newEnv(t, &imap.Options{Conns: limits.NewConns(2)})
	e.raw()
	e.raw()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 200)
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "* BYE [UNAVAILABLE]") {
		t.Errorf("third connection got %q, want BYE [UNAVAILABLE]", buf[:n])
	}
}

// A connection that does not log in within LoginTimeout is dropped.
func TestLoginTimeout(t *testing.T) {
	e := newEnv(t, &imap.Options{LoginTimeout: 200 * time.Millisecond})
	r := e.raw()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l := r.line(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("after the login timeout got %q, want BYE", l)
	}
	// Logged in, it stays.
	r2 := e.rawLogin(alice)
	time.Sleep(400 * time.Millisecond)
	r2.ok("NOOP")
}
