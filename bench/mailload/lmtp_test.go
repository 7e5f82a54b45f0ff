package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/smtp/smtptest"
)

func TestDotStuff(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb", "a\r\nb\r\n"},
		{".x\r\n..y\r\nz.\r\n.\r\n", "..x\r\n...y\r\nz.\r\n..\r\n"},
		{"", ""},
	} {
		got, err := dotStuff(strings.NewReader(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("dotStuff(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestLMTPClientDelivers: the bench's LMTP client delivers messages of
// every size the load uses to postvault's LMTP server, which stores them
// byte for byte as the message's reader gives them (the server adds its
// trace header fields in front).
func TestLMTPClientDelivers(t *testing.T) {
	be := smtptest.New()
	be.AddUser("u@example.org", 0)
	srv, err := smtp.New(be, &smtp.Options{LMTP: true, Hostname: "mx.example.org", MaxMessageBytes: 4 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	lc := &lmtpConn{c: &client{id: 1}, addr: l.Addr().String()}
	defer lc.close()
	var want [][]byte
	for i, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		m := newMessage(size)
		if err := lc.deliver(m, "u@example.org"); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(m.reader("u@example.org", msgSeq.Load()))
		want = append(want, b)
		got := be.Messages("u@example.org")
		if len(got) != i+1 {
			t.Fatalf("%d messages stored after %d deliveries", len(got), i+1)
		}
	}
	for i, m := range be.Messages("u@example.org") {
		// The header's Date and Message-ID differ from a second rendering;
		// the body must arrive exactly.
		body := want[i][bytes.Index(want[i], []byte("\r\n\r\n")):]
		if !bytes.HasSuffix(m.Body, body) {
			t.Errorf("message %d: the stored body differs from what the load sent", i)
		}
	}
}
