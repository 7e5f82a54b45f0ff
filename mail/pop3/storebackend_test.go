package pop3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/pop3"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// storeEnv is a POP3 server on the real store, on a file-backed volume.
type storeEnv struct {
	path string
	st   *store.Store
	env  *env
}

var cheap = &store.Options{Password: store.PasswordCost{Time: 1, MemoryK: 1024, Threads: 1}, CheckpointInterval: -1}

func openStore(t *testing.T, path string, create bool) *store.Store {
	t.Helper()
	return openStoreSized(t, path, create, 128<<20, bigSegments)
}

// openStoreSized opens (or creates, with a volume of size bytes) a store
// on a file.
func openStoreSized(t *testing.T, path string, create bool, size int64, co *store.CreateOptions) *store.Store {
	t.Helper()
	var v *storetest.File
	var err error
	if create {
		v, err = storetest.CreateFile(path, size)
		if err == nil {
			err = store.Create(v, co)
		}
	} else {
		v, err = storetest.OpenFile(path, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	o := *cheap
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(v, &o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newStoreEnv starts a POP3 server on st.
func newStoreEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	h, err := testTLS()
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv, err := pop3.New(pop3.NewStoreBackend(st), &pop3.Options{
		TLSConfig: h.TLSConfig(), Hostname: "pv.test", FailureDelay: -1,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
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

func deliver(t *testing.T, st *store.Store, to string, msg []byte) uint32 {
	t.Helper()
	res, err := st.Deliver(context.Background(), []store.Delivery{{Recipient: to}}, time.Now(), bytes.NewReader(msg))
	if err != nil || res[0].Err != nil {
		t.Fatalf("Deliver: %v %v", err, res)
	}
	return res[0].UID
}

func TestStoreBackend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vol.img")
	st := openStore(t, path, true)
	ctx := context.Background()
	if err := st.AddUser(ctx, "alice@example.org", "s3cret пароль"); err != nil {
		t.Fatal(err)
	}
	m1 := []byte("From: Иван <ivan@example.com>\r\nSubject: Привет\r\n\r\nТело\r\n.точка\r\n")
	big := bytes.Repeat([]byte("0123456789abcdef Строка\r\n"), 200000) // ~5 MiB: chunked in the store
	m2 := append([]byte("Subject: big\r\n\r\n"), big...)
	m3 := []byte("Subject: three\r\n\r\n3\r\n")
	u1, u2, u3 := deliver(t, st, "alice@example.org", m1), deliver(t, st, "alice@example.org", m2), deliver(t, st, "alice@example.org", m3)

	acct, err := st.Account("alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	_, status, err := acct.Messages("INBOX", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDL := []string{"1 " + pop3.UIDL(status.UIDValidity, u1), "2 " + pop3.UIDL(status.UIDValidity, u2), "3 " + pop3.UIDL(status.UIDValidity, u3)}

	e := newStoreEnv(t, st)
	c := e.dial(t)
	c.cmd("USER alice@example.org", "+OK")
	c.cmd("PASS wrong", "-ERR [AUTH]")
	c.cmd("USER alice@example.org", "+OK")
	c.cmd("PASS s3cret пароль", fmt.Sprintf("+OK maildrop has 3 messages (%d octets)", len(m1)+len(m2)+len(m3)))
	c.cmd("UIDL", "+OK")
	if got := c.multi(); fmt.Sprint(got) != fmt.Sprint(wantUIDL) {
		t.Errorf("UIDL = %q, want %q", got, wantUIDL)
	}
	for i, m := range [][]byte{m1, m2, m3} {
		c.cmd(fmt.Sprintf("RETR %d", i+1), fmt.Sprintf("+OK %d octets", len(m)))
		if got := c.readMulti(); !bytes.Equal(got, m) {
			t.Errorf("RETR %d: %d bytes differ from the %d stored", i+1, len(got), len(m))
		}
	}
	c.cmd("TOP 1 1", "+OK")
	if got, want := string(c.readMulti()), "From: Иван <ivan@example.com>\r\nSubject: Привет\r\n\r\nТело\r\n"; got != want {
		t.Errorf("TOP 1 1 = %q, want %q", got, want)
	}
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 2", "+OK")
	c.cmd("QUIT", "+OK bye (1 messages left)")
	c.closed()

	// The deletion is in the store: IMAP's INBOX no longer has them.
	msgs, _, err := acct.Messages("INBOX", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].UID != u3 {
		t.Fatalf("INBOX after DELE 1, DELE 2, QUIT = %v, want only uid %d", msgs, u3)
	}

	// After a restart the UIDL of the message left is the same.
	e.srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, path, false)
	defer st.Close()
	e = newStoreEnv(t, st)
	c = e.dial(t)
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.org\x00s3cret пароль"), "+OK maildrop has 1 messages")
	c.cmd("UIDL 1", "+OK 1 "+strings.TrimPrefix(wantUIDL[2], "3 "))
	c.cmd("QUIT", "+OK")
}

func TestStoreBackendDisabledAndUnknown(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "vol.img"), true)
	defer st.Close()
	ctx := context.Background()
	st.AddUser(ctx, "bob@example.org", "pw")
	st.SetDisabled(ctx, "bob@example.org", true)
	e := newStoreEnv(t, st)
	c := e.dial(t)
	for _, u := range []string{"bob@example.org", "nobody@example.org"} {
		c.cmd("USER "+u, "+OK")
		c.cmd("PASS pw", "-ERR [AUTH] invalid user name or password")
	}
}

// bigSegments keeps each test's writes within one log segment. The store
// (as of 2026-11-28) has a data race between its writer switching segments
// (log.go, writeBatch: head.next set outside s.mu) and the background
// free-segment count; these protocol tests are not about that, the store's
// own tests are.
var bigSegments = &store.CreateOptions{SegmentSize: 16 << 20}
