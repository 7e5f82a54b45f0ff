package imap_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/imap"
	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/store"
)

// dialRaw opens a raw connection to addr, over TLS when cfg is set, and
// reads the greeting.
func dialRaw(t *testing.T, addr string, cfg *tls.Config) *raw {
	t.Helper()
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.Dial("tcp", addr, cfg)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &raw{t: t, c: c, br: bufio.NewReader(c)}
	if l := r.line(); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting = %q", l)
	}
	return r
}

// The login timer counts from connect to authenticated, but not the time
// the store spends checking the password: a check still running when the
// timer is due gets its tagged answer (RFC 9051 section 2.2.2), and only a
// failed one is followed by the end of the connection.
func TestLoginTimerSparesPasswordCheck(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name     string
		tls      bool
		password string
		want     string // start of the tagged LOGIN answer
	}{
		{"plain, right password", false, password, "OK"},
		{"plain, wrong password", false, "wrong", "NO"},
		{"implicit TLS, right password", true, password, "OK"},
		{"implicit TLS, wrong password", true, "wrong", "NO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t, 64<<20)
			opts := &imap.Options{LoginTimeout: timeout}
			var wrap func(net.Listener) net.Listener
			var clientTLS *tls.Config
			if tc.tls {
				cfg := tlsConfig(t)
				opts.TLSConfig = cfg
				wrap = func(l net.Listener) net.Listener { return tls.NewListener(l, cfg) }
				clientTLS = &tls.Config{InsecureSkipVerify: true}
			}
			slow := func(ctx context.Context, user, pass, remote string) (*store.Account, error) {
				time.Sleep(4 * timeout) // the check outlasts the timer
				return st.Authenticate(ctx, user, pass, remote)
			}
			e := startServerPrep(t, st, opts, wrap, func(s *imap.Server) { imap.SetAuthenticate(s, slow) })
			r := dialRaw(t, e.addr, clientTLS)
			if _, status := r.do("LOGIN %s %q", alice, tc.password); !strings.HasPrefix(status, tc.want) {
				t.Fatalf("LOGIN past the login timer = %q, want %s", status, tc.want)
			}
			if tc.want == "OK" {
				time.Sleep(2 * timeout)
				r.ok("NOOP")
				return
			}
			// Failed: the timer, already due, ends the connection soon.
			r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				l, err := r.br.ReadString('\n')
				if err == nil {
					if !strings.HasPrefix(l, "* BYE") {
						t.Errorf("after the failed LOGIN got %q, want BYE or the end", l)
					}
					continue
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("connection still open 10s after a failed LOGIN past the login timer")
				}
				break
			}
		})
	}
}

// A connection over the limit on implicit TLS whose client never sends
// its TLS hello is closed within the refusal deadline: the handshake that
// the BYE would start must not wait for ever.
func TestConnLimitRefusalTLSHandshakeDeadline(t *testing.T) {
	st := newStore(t, 64<<20)
	cfg := tlsConfig(t)
	e := startServerPrep(t, st, &imap.Options{TLSConfig: cfg, Conns: limits.NewConns(1)},
		func(l net.Listener) net.Listener { return tls.NewListener(l, cfg) },
		func(s *imap.Server) { imap.SetRefuseTimeout(s, 300*time.Millisecond) })
	dial := func() net.Conn {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial() // takes the one slot (and never handshakes either)
	c := dial()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("refused IMAPS connection without a TLS hello still open after %v", time.Since(start).Round(time.Millisecond))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused IMAPS connection closed after %v, want about 300ms", d)
	}
}
