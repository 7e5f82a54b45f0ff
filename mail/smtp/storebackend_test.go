package smtp_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

var cheap = store.Options{Password: store.PasswordCost{Time: 1, MemoryK: 1024, Threads: 1}, CheckpointInterval: -1}

func openStore(t *testing.T, path string, create bool, opts store.Options) *store.Store {
	t.Helper()
	var v *storetest.File
	var err error
	if create {
		if v, err = storetest.CreateFile(path, 128<<20); err == nil {
			err = store.Create(v, bigSegments) // see bigSegments
		}
		if err == nil {
			err = v.Close()
		}
	}
	if err == nil {
		v, err = storetest.OpenFile(path, opts.ReadOnly)
	}
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(v, &opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// serveStore starts an SMTP (or LMTP) server on b.
func serveStore(t *testing.T, b smtp.Backend, lmtp bool) *env {
	t.Helper()
	logs := &logBuffer{}
	srv, err := smtp.New(b, &smtp.Options{LMTP: lmtp, Hostname: "mx.example.org", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &env{srv: srv, addr: l.Addr().String(), logs: logs}
}

func inbox(t *testing.T, st *store.Store, name string) []string {
	t.Helper()
	a, err := st.Account(name)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := a.Messages("INBOX", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := a.Open("INBOX", m.UID)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(b)
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

func TestStoreBackend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vol.img")
	st := openStore(t, path, true, cheap)
	ctx := context.Background()
	for _, u := range []string{"alice@example.org", "bob@example.org", "carol@example.org"} {
		if err := st.AddUser(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	st.AddAlias(ctx, "info@example.org", "alice@example.org")
	st.SetQuota(ctx, "carol@example.org", 100)
	big := "Subject: большое письмо\r\n\r\n" + strings.Repeat("Строка номер один, и ещё немного текста.\r\n", 20000) // ~1.2 MiB: over the store's inline limit, so chunked

	for _, lmtp := range []bool{false, true} {
		e := serveStore(t, smtp.NewStoreBackend(st), lmtp)
		c := e.hello(t, lmtp)
		c.cmd("MAIL FROM:<ivan@example.com>", "250 ")
		c.cmd("RCPT TO:<info@example.org>", "250 ")
		c.cmd("RCPT TO:<bob@example.org>", "250 ")
		c.cmd("RCPT TO:<nobody@example.org>", "550 5.1.1 ")
		c.cmd("RCPT TO:<x@other.example>", "550 5.7.1 ")
		c.data(big)
		if lmtp {
			c.expect("250 2.0.0 <info@example.org>")
			c.expect("250 2.0.0 <bob@example.org>")
		} else {
			c.expect("250 ")
		}
		c.cmd("MAIL FROM:<ivan@example.com> SIZE=1000", "250 ")
		c.cmd("RCPT TO:<carol@example.org>", "552 5.2.2 ") // larger than her whole quota
		c.cmd("QUIT", "221 ")
	}
	for _, who := range []string{"alice@example.org", "bob@example.org"} {
		msgs := inbox(t, st, who)
		if len(msgs) != 2 {
			t.Fatalf("%s has %d messages, want 2 (SMTP and LMTP)", who, len(msgs))
		}
		for _, m := range msgs {
			trace, rest := split(t, []byte(m))
			if rest != big {
				t.Errorf("%s: stored body differs (%d bytes, want %d)", who, len(rest), len(big))
			}
			wantTo := map[string]string{"alice@example.org": "info@example.org", "bob@example.org": "bob@example.org"}[who]
			if !strings.Contains(trace, "Delivered-To: "+wantTo+"\r\n") {
				t.Errorf("%s: trace lacks Delivered-To %s:\n%s", who, wantTo, trace)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// A store that cannot take writes makes senders retry: 4xx, never 5xx.
	ro := cheap
	ro.ReadOnly = true
	st = openStore(t, path, false, ro)
	defer st.Close()
	for _, lmtp := range []bool{false, true} {
		e := serveStore(t, smtp.NewStoreBackend(st), lmtp)
		c := e.hello(t, lmtp)
		c.cmd("MAIL FROM:<ivan@example.com>", "250 ")
		c.cmd("RCPT TO:<alice@example.org>", "250 ")
		c.data("Subject: while read-only\r\n\r\nretry me\r\n")
		c.expect("451 4.3.0 ")
	}
	if n := len(inbox(t, st, "alice@example.org")); n != 2 {
		t.Errorf("alice has %d messages after refused deliveries, want 2", n)
	}
}

func TestStoreBackendClosedStore(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "vol.img"), true, cheap)
	st.AddUser(context.Background(), "alice@example.org", "pw")
	e := serveStore(t, st, false) // *store.Store as it is: the shared path
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	st.Close()
	c.data("Subject: x\r\n\r\ny\r\n")
	c.expect("451 4.3.0 ")
}

// bigSegments: see the same in mail/pop3's tests (a store race on segment
// switches that is the store's to fix).
var bigSegments = &store.CreateOptions{SegmentSize: 16 << 20}

func openFileVolume(path string, size int64) (*storetest.File, error) {
	return storetest.CreateFile(path, size)
}
