package pop3_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/pop3"
)

// FuzzSession drives whole sessions with arbitrary client bytes: the server
// must not panic or hang, and must answer in CRLF-terminated lines.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 0\r\nQUIT\r\n",
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n",
		"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nLIST 1\r\nUIDL 2\r\nDELE 2\r\nQUIT\r\n",
		"USER alice\nPASS secret\nRETR 3\nTOP 1 99999999999\nLIST 0\n",
		"STLS\r\nUSER alice\r\n",
		"\x00\xff\r\n\r\nUSER\r\nPASS\r\nAUTH X\r\n",
	} {
		f.Add([]byte(s))
	}
	e := newEnv(f, func(o *pop3.Options) {
		o.IdleTimeout = 2 * time.Second
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	e.be.Deliver("alice", msg("Subject: one", "", ".dot", "body"))
	e.be.Deliver("alice", msg("Subject: two", "", "x"))
	f.Fuzz(func(t *testing.T, in []byte) {
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			nc.Write(in)
			nc.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(nc)
		if err != nil {
			t.Fatalf("session did not end: %v (input %q)", err, in)
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out)
		}
		// Restore what a QUIT may have deleted, for the next input.
		if n := len(e.be.UIDs("alice")); n < 2 {
			for ; n < 2; n++ {
				e.be.Deliver("alice", msg("Subject: again", "", "x"))
			}
		}
	})
}
