package pop3_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// readMulti reads a multi-line response's raw bytes after its +OK line, up
// to and excluding the terminating ".\r\n", and undoes dot-stuffing.
func (c *client) readMulti() []byte {
	c.t.Helper()
	var out bytes.Buffer
	for {
		c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		l, err := c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			out.Write(l)
			for err == bufio.ErrBufferFull {
				l, err = c.br.ReadSlice('\n')
				out.Write(l)
			}
			if err != nil {
				c.t.Fatal(err)
			}
			continue
		}
		if err != nil {
			c.t.Fatal(err)
		}
		if string(l) == ".\r\n" {
			return out.Bytes()
		}
		if l[0] == '.' {
			l = l[1:]
		}
		out.Write(l)
	}
}

func TestRetr(t *testing.T) {
	tests := []struct {
		name     string
		stored   string
		wire     string // the multi-line body as sent, before "."
		received string // after undoing dot-stuffing
	}{
		{"plain", "Subject: a\r\n\r\nhello\r\n", "Subject: a\r\n\r\nhello\r\n", "Subject: a\r\n\r\nhello\r\n"},
		{"dot-stuffed", "Subject: a\r\n\r\n.\r\n..x\r\n.end\r\n", "Subject: a\r\n\r\n..\r\n...x\r\n..end\r\n", "Subject: a\r\n\r\n.\r\n..x\r\n.end\r\n"},
		{"bare LF sent as CRLF", "Subject: a\n\nhello\n.\n", "Subject: a\r\n\r\nhello\r\n..\r\n", "Subject: a\r\n\r\nhello\r\n.\r\n"},
		{"no final newline", "Subject: a\r\n\r\nhello", "Subject: a\r\n\r\nhello\r\n", "Subject: a\r\n\r\nhello\r\n"},
		{"utf-8", "Subject: Привет, мир\r\n\r\nТело письма ✓\r\n", "Subject: Привет, мир\r\n\r\nТело письма ✓\r\n", "Subject: Привет, мир\r\n\r\nТело письма ✓\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.be.Deliver("alice", []byte(tt.stored))
			c := e.login(t, "alice", "secret")
			c.cmd("RETR 1", fmt.Sprintf("+OK %d octets", len(tt.stored)))
			c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			raw := make([]byte, len(tt.wire)+3)
			if _, err := io.ReadFull(c.br, raw); err != nil {
				t.Fatal(err)
			}
			if got, want := string(raw), tt.wire+".\r\n"; got != want {
				t.Errorf("RETR sent %q, want %q", got, want)
			}
			c.cmd("RETR 2", "-ERR no message 2")
		})
	}
}

// A message of several MiB, with long lines and lines starting with dots,
// comes back byte for byte.
func TestRetrLarge(t *testing.T) {
	e := newEnv(t, nil)
	var b bytes.Buffer
	b.WriteString("Subject: big\r\n\r\n")
	for i := 0; b.Len() < 6<<20; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, ".line %d\r\n", i)
		case 1:
			b.WriteString(strings.Repeat("x", 100000) + "\r\n")
		default:
			b.WriteString("Строка по-русски\r\n")
		}
	}
	e.be.Deliver("alice", b.Bytes())
	c := e.login(t, "alice", "secret")
	c.cmd("RETR 1", fmt.Sprintf("+OK %d octets", b.Len()))
	if got := c.readMulti(); !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("RETR returned %d bytes, want the %d stored bytes exactly", len(got), b.Len())
	}
	c.cmd("NOOP", "+OK")
}

func TestRetrStoreFails(t *testing.T) {
	e := newEnv(t, nil)
	e.be.Deliver("alice", msg("Subject: a", "", "x"))
	c := e.login(t, "alice", "secret")
	e.be.FailOpen = fmt.Errorf("disk on fire")
	c.cmd("RETR 1", "-ERR [SYS/TEMP] cannot read the message now")
	e.be.FailOpen = nil
	e.be.Expunge("alice", 1) // gone by IMAP meanwhile
	c.cmd("RETR 1", "-ERR message 1 was removed by another session")
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Errorf("store error not logged:\n%s", e.logs.String())
	}
}
