package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postvault/postvault/mail/imap"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

const (
	alice    = "alice@example.org"
	bob      = "bob@example.org"
	password = "correct horse"
)

// env is a real store on a file-backed volume with a running server on
// 127.0.0.1.
type env struct {
	t    *testing.T
	st   *store.Store
	srv  *imap.Server
	addr string
}

// newEnv starts a store with alice and bob, and a server on it.
func newEnv(t *testing.T, opts *imap.Options) *env {
	t.Helper()
	st := newStore(t, 256<<20)
	return startServer(t, st, opts, nil)
}

// openStore opens the store on vol for a test (cheap password hashing, no
// periodic checkpoints) and closes it when the test ends.
func openStore(t *testing.T, vol store.Volume) *store.Store {
	t.Helper()
	st, err := store.Open(vol, &store.Options{
		Logger:             quietLogger(),
		CheckpointInterval: -1,
		Password:           store.PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newStore(t *testing.T, size int64) *store.Store {
	t.Helper()
	vol, err := storetest.CreateFile(filepath.Join(t.TempDir(), "vol.img"), size)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Create(vol, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, vol)
	for _, u := range []string{alice, bob} {
		if err := st.AddUser(context.Background(), u, password); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer serves st on a loopback listener, wrapped by wrap if not nil.
func startServer(t *testing.T, st *store.Store, opts *imap.Options, wrap func(net.Listener) net.Listener) *env {
	t.Helper()
	return startServerPrep(t, st, opts, wrap, nil)
}

// startServerPrep is startServer with prep, if not nil, called on the
// server before it serves (to set test hooks).
func startServerPrep(t *testing.T, st *store.Store, opts *imap.Options, wrap func(net.Listener) net.Listener, prep func(*imap.Server)) *env {
	t.Helper()
	if opts == nil {
		opts = &imap.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	srv, err := imap.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &env{t: t, st: st, srv: srv, addr: addr}
}

// deliver puts a message into user's INBOX as SMTP would.
func (e *env) deliver(user, msg string) uint32 {
	e.t.Helper()
	return e.deliverTo(user, "INBOX", msg)
}

func (e *env) deliverTo(user, mailbox, msg string) uint32 {
	e.t.Helper()
	res, err := e.st.Deliver(context.Background(), []store.Delivery{{Recipient: user, Mailbox: mailbox}}, time.Now(), strings.NewReader(msg))
	if err != nil || res[0].Err != nil {
		e.t.Fatalf("Deliver = %v, %v", res, err)
	}
	return res[0].UID
}

// client dials and logs in with go-imap's client.
func (e *env) client(user string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialInsecure(e.addr, &imapclient.Options{UnilateralDataHandler: h})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		e.t.Fatalf("Login(%s) = %v", user, err)
	}
	return c
}

// raw is a hand-driven connection for checking exact responses.
type raw struct {
	t   *testing.T
	c   net.Conn
	br  *bufio.Reader
	tag int
}

func (e *env) raw() *raw {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	r := &raw{t: e.t, c: c, br: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if l := r.line(); !strings.HasPrefix(l, "* OK") {
		e.t.Fatalf("greeting = %q", l)
	}
	return r
}

// rawLogin opens a raw connection logged in as user.
func (e *env) rawLogin(user string) *raw {
	r := e.raw()
	r.ok("LOGIN %s %q", user, password)
	return r
}

var literalRE = regexp.MustCompile(`\{(\d+)\+?\}$`)

// line reads one response line, with its literals inlined.
func (r *raw) line() string {
	r.t.Helper()
	var sb strings.Builder
	for {
		l, err := r.br.ReadString('\n')
		if err != nil {
			r.t.Fatalf("read: %v (got %q)", err, sb.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		sb.WriteString(l)
		m := literalRE.FindStringSubmatch(l)
		if m == nil {
			return sb.String()
		}
		n, _ := strconv.Atoi(m[1])
		b := make([]byte, n)
		if _, err := io.ReadFull(r.br, b); err != nil {
			r.t.Fatalf("read literal: %v", err)
		}
		sb.WriteString("\r\n")
		sb.Write(b)
	}
}

// send writes a command line and returns its tag.
func (r *raw) send(format string, args ...any) string {
	r.t.Helper()
	r.tag++
	tag := fmt.Sprintf("a%d", r.tag)
	if _, err := fmt.Fprintf(r.c, "%s %s\r\n", tag, fmt.Sprintf(format, args...)); err != nil {
		r.t.Fatal(err)
	}
	return tag
}

// wait reads until the tagged response of tag.
func (r *raw) wait(tag string) (untagged []string, status string) {
	r.t.Helper()
	for {
		l := r.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// do runs a command and returns its untagged responses and status.
func (r *raw) do(format string, args ...any) ([]string, string) {
	r.t.Helper()
	return r.wait(r.send(format, args...))
}

// ok runs a command that must succeed.
func (r *raw) ok(format string, args ...any) []string {
	r.t.Helper()
	u, st := r.do(format, args...)
	if !strings.HasPrefix(st, "OK") {
		r.t.Fatalf("%s: %s (untagged %q)", fmt.Sprintf(format, args...), st, u)
	}
	return u
}

// has reports whether some line contains every one of subs.
func has(lines []string, subs ...string) bool {
	for _, l := range lines {
		all := true
		for _, s := range subs {
			if !strings.Contains(l, s) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// msg builds a simple message.
func msg(subject, body string) string {
	return "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <" + strconv.Itoa(len(subject)+len(body)) + "@example.org>\r\n\r\n" + body
}
