package imap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// errPreAuthLimit ends a connection that spent its budget before logging in.
var errPreAuthLimit = errors.New("imap: too much input before login")

// guardConn enforces the limits that hold until a client authenticates
// (RFC 9051 section 11.1 leaves them to the server): a number of command
// lines, a number of bytes and a deadline. The library reads commands from
// it; the session calls authenticated once a login succeeds. It also
// releases the connection's slot in limits.Conns when closed.
//
// Lines are counted on the bytes as they arrive; once the client starts TLS
// with STARTTLS the bytes are ciphertext, so only the byte budget and the
// deadline apply from then on.
//
// The deadline does not end a connection while its login is inside the
// store's password check (beginCheck to endCheck): that check may wait its
// turn behind other logins, and closing then would leave the client
// without a tagged answer. The timer re-arms instead and ends the
// connection shortly after a check that failed.
type guardConn struct {
	net.Conn
	release  func()
	maxLines int
	maxBytes int64
	timeout  time.Duration
	timer    *time.Timer

	authed atomic.Bool
	// checking counts logins inside the password check; the timer does not
	// close the connection while it is above 0.
	checking atomic.Int32
	// loginCtx ends when the connection is closed (by the server's Close
	// too), so that a login waiting for a password check slot gives up.
	loginCtx    context.Context
	cancelLogin context.CancelFunc

	mu      sync.Mutex // guards the counters below; Read is called by one goroutine but Close by another
	lines   int
	nbytes  int64
	tlsSeen bool
	line    []byte // the current partial line, up to 64 bytes, to spot STARTTLS
}

// newGuardConn wraps c; isTLS says c is already encrypted (implicit TLS),
// so that only the byte budget and the deadline apply.
func newGuardConn(c net.Conn, isTLS bool, release func(), maxLines int, maxBytes int64, timeout time.Duration) *guardConn {
	g := &guardConn{Conn: c, release: release, maxLines: maxLines, maxBytes: maxBytes, timeout: timeout, tlsSeen: isTLS}
	g.loginCtx, g.cancelLogin = context.WithCancel(context.Background())
	g.timer = time.AfterFunc(timeout, g.expire)
	return g
}

// expire is the login timer: it drops a connection that has not
// authenticated, unless a login is being checked right now; then it looks
// again a little later (at most a second, so that a failed check's answer
// goes out before the BYE).
func (g *guardConn) expire() {
	switch {
	case g.authed.Load():
	case g.checking.Load() > 0:
		g.timer.Reset(min(g.timeout, time.Second))
	default:
		g.bye("Login timeout")
	}
}

// beginCheck marks a login as inside the password check; endCheck ends
// that. A successful login calls authenticated before endCheck, so the
// timer never sees the connection as idle in between.
func (g *guardConn) beginCheck() { g.checking.Add(1) }
func (g *guardConn) endCheck()   { g.checking.Add(-1) }

// authenticated lifts the pre-login limits.
func (g *guardConn) authenticated() {
	g.authed.Store(true)
	g.timer.Stop()
}

// unauthenticated restores them (UNAUTHENTICATE, RFC 8437).
func (g *guardConn) unauthenticated() {
	g.mu.Lock()
	g.lines, g.nbytes = 0, 0
	g.mu.Unlock()
	g.authed.Store(false)
	g.timer.Reset(g.timeout)
}

// bye tells a plaintext client why it is dropped and closes the
// connection. On an encrypted connection the bytes would be garbage, so it
// only closes.
func (g *guardConn) bye(text string) {
	g.mu.Lock()
	plain := !g.tlsSeen
	g.mu.Unlock()
	if plain {
		g.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(g.Conn, "* BYE "+text+"\r\n")
	}
	g.Conn.Close()
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n == 0 || g.authed.Load() {
		return n, err
	}
	g.mu.Lock()
	g.nbytes += int64(n)
	over := g.nbytes > g.maxBytes
	if !g.tlsSeen {
		g.countLines(p[:n])
		over = over || g.lines > g.maxLines
	}
	g.mu.Unlock()
	if over {
		g.bye("[LIMIT] Too many commands before login")
		return 0, errPreAuthLimit
	}
	return n, err
}

// countLines counts line ends in b and notices a STARTTLS command. g.mu
// must be held.
func (g *guardConn) countLines(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			g.keep(b)
			return
		}
		g.keep(b[:i])
		g.lines++
		if f := bytes.Fields(g.line); len(f) == 2 && bytes.EqualFold(f[1], []byte("STARTTLS")) {
			g.tlsSeen = true
			return
		}
		g.line = g.line[:0]
		b = b[i+1:]
	}
}

func (g *guardConn) keep(b []byte) {
	if room := 64 - len(g.line); room > 0 {
		g.line = append(g.line, b[:min(room, len(b))]...)
	}
}

func (g *guardConn) Close() error {
	g.timer.Stop()
	g.cancelLogin()
	g.release()
	return g.Conn.Close()
}
