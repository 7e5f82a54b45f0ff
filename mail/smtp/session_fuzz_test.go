package smtp_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/smtp"
)

// FuzzSession drives whole SMTP and LMTP sessions with arbitrary client
// bytes through go-smtp into our Backend code: no panic, no hang, replies
// in CRLF-terminated lines, and nothing stored without a 250 for it.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO a\r\nMAIL FROM:<s@example.com>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nSubject: x\r\n\r\n.y\r\n.\r\nQUIT\r\n",
		"LHLO a\r\nMAIL FROM:<> SIZE=10\r\nRCPT TO:<info@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<x@nowhere>\r\nDATA\r\nhi\r\n.\r\n",
		"EHLO a\r\nMAIL FROM:<s@example.com> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<иван@example.org>\r\nDATA\r\nТема\r\n.\r\nRSET\r\nNOOP\r\nVRFY x\r\n",
		"HELO\r\nMAIL FROM:\r\nRCPT TO:<@a,@b:c@example.org>\r\nBDAT 5 LAST\r\nhello",
		"EHLO a\r\nSTARTTLS\r\nMAIL FROM:<s@example.com>\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	quiet := func(o *smtp.Options) {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		o.Timeout = 2 * time.Second
		o.MaxMessageBytes = 4096
	}
	envs := map[bool]*env{false: newEnv(f, false, quiet, nil), true: newEnv(f, true, quiet, nil)}
	f.Fuzz(func(t *testing.T, in []byte, lmtp bool) {
		e := envs[lmtp]
		before := len(e.be.Messages("alice@example.org")) + len(e.be.Messages("bob@example.org"))
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
		after := len(e.be.Messages("alice@example.org")) + len(e.be.Messages("bob@example.org"))
		if stored, acked := after-before, countAcks(out); stored > acked {
			t.Fatalf("%d messages stored but %d DATA replies were 250 (input %q, output %q)", stored, acked, in, out)
		}
	})
}

// countAcks counts the replies that acknowledge message data: go-smtp
// answers a successful DATA (one per recipient in LMTP) "250 2.0.0 ...OK:
// queued", a text no other reply has.
func countAcks(out []byte) int {
	return bytes.Count(out, []byte("OK: queued\r\n"))
}
