package imap_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// APPEND, RFC 9051 section 6.3.12, with APPENDUID (RFC 4315) and the
// APPENDLIMIT (RFC 7889).
func TestAppend(t *testing.T) {
	e := newEnv(t, &imapOptionsAppendLimit)
	c := e.client(alice, nil)
	body := "From: Алиса <alice@example.org>\r\nSubject: =?utf-8?b?0J/RgNC40LLQtdGC?=\r\n\r\nТело письма — UTF-8.\r\n"
	date := time.Date(2025, 12, 31, 23, 59, 58, 0, time.FixedZone("", 3*3600))
	cmd := c.Append("Sent", int64(len(body)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "$Sent"}, Time: date})
	cmd.Write([]byte(body))
	cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.UID != 1 || data.UIDValidity == 0 {
		t.Errorf("APPENDUID = %+v", data)
	}
	if _, err := c.Select("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(msgs[0].FindBodySection(sec)); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
	if !msgs[0].InternalDate.Equal(date) {
		t.Errorf("INTERNALDATE = %v, want %v", msgs[0].InternalDate, date)
	}
	// \Recent: this session is the first to see it.
	if f := msgs[0].Flags; len(f) != 3 || f[0] != imap.FlagSeen || f[1] != "$Sent" || f[2] != `\Recent` {
		t.Errorf("FLAGS = %v, want \\Seen $Sent \\Recent", f)
	}
	// The selected mailbox hears of its own APPEND at once.
	cmd = c.Append("Sent", 3, nil)
	cmd.Write([]byte("x\r\n"))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("EXISTS after APPEND = %d, want 2", n)
	}
}

var imapOptionsAppendLimit = imapOptions(1 << 20)

func TestAppendErrors(t *testing.T) {
	e := newEnv(t, &imapOptionsAppendLimit)
	r := e.rawLogin(alice)
	if u, st := r.do("CAPABILITY"); !strings.HasPrefix(st, "OK") || !has(u, "APPENDLIMIT=1048576") {
		t.Errorf("CAPABILITY = %q, want APPENDLIMIT=1048576", u)
	}
	// Too big: refused before the literal is sent.
	if _, st := r.do("APPEND INBOX {2000000}"); !strings.HasPrefix(st, "NO [TOOBIG]") {
		t.Errorf("APPEND of 2 MB = %q, want NO [TOOBIG]", st)
	}
	tag := r.send("APPEND nosuch {3}")
	if l := r.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND continuation = %q", l)
	}
	r.c.Write([]byte("x\r\n\r\n"))
	if _, st := r.wait(tag); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("APPEND to a missing mailbox = %q, want NO [TRYCREATE]", st)
	}
	// LITERAL+: a non-synchronizing literal within the limit.
	big := bytes.Repeat([]byte("a"), 100<<10)
	tag = r.send("APPEND INBOX {%d+}", len(big))
	r.c.Write(append(big, "\r\n"...))
	if _, st := r.wait(tag); !strings.HasPrefix(st, "OK [APPENDUID") {
		t.Errorf("APPEND with LITERAL+ = %q", st)
	}
}
