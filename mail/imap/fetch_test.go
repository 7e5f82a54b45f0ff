package imap_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// A multipart message with a Cyrillic subject, a quoted-printable text part,
// a base64 attachment with a Cyrillic file name, and an enclosed message.
const mixed = "From: =?utf-8?b?0JDQu9C40YHQsA==?= <alice@example.org>\r\n" +
	"To: Friends: bob@example.org, \"Carol C.\" <carol@example.net>;, dave@example.com\r\n" +
	"Cc: undisclosed-recipients:;\r\n" +
	"Subject: =?utf-8?b?0J/RgNC40LLQtdGCLCDQvNC40YAh?=\r\n" +
	"Date: Tue, 03 Feb 2026 10:00:00 +0300\r\n" +
	"Message-ID: <mixed@example.org>\r\n" +
	"In-Reply-To: <parent@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--outer\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82 =D0=BC=D0=B8=D1=80, line one\r\n" +
	"line two\r\n" +
	"--outer\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt\r\n" +
	"\r\n" +
	"0L7RgtGH0ZHRgg==\r\n" +
	"--outer\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"From: bob@example.org\r\n" +
	"Subject: inner\r\n" +
	"\r\n" +
	"inner body\r\n" +
	"--outer--\r\n" +
	"epilogue\r\n"

func TestFetchSections(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, mixed)
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	tests := []struct {
		item string
		want string
	}{
		{"BODY.PEEK[1]", "=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82 =D0=BC=D0=B8=D1=80, line one\r\nline two)"},
		{"BODY.PEEK[1.MIME]", "BODY[1.MIME] {88}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n)"},
		{"BODY.PEEK[2]", "BODY[2] {16}\r\n0L7RgtGH0ZHRgg==)"},
		{"BODY.PEEK[3]", "BODY[3] {51}\r\nFrom: bob@example.org\r\nSubject: inner\r\n\r\ninner body)"},
		{"BODY.PEEK[3.HEADER]", "BODY[3.HEADER] {41}\r\nFrom: bob@example.org\r\nSubject: inner\r\n\r\n)"},
		{"BODY.PEEK[3.TEXT]", "BODY[3.TEXT] {10}\r\ninner body)"},
		{"BODY.PEEK[3.1]", "BODY[3.1] {10}\r\ninner body)"},
		{"BODY.PEEK[4]", "BODY[4] {0}\r\n)"},
		{"BODY.PEEK[HEADER.FIELDS (message-id DATE)]", "{74}\r\nDate: Tue, 03 Feb 2026 10:00:00 +0300\r\nMessage-ID: <mixed@example.org>\r\n\r\n)"},
		{"BODY.PEEK[TEXT]<0.8>", "BODY[TEXT]<0> {8}\r\npreamble)"},
		{"BODY.PEEK[]<5.6>", "BODY[]<5> {6}\r\n =?utf)"},
		{"BINARY.PEEK[1]", "BINARY[1] ~{39}\r\nПривет мир, line one\r\nline two)"},
		{"BINARY.PEEK[2]", "BINARY[2] ~{10}\r\nотчёт)"},
		{"BINARY.SIZE[2]", "BINARY.SIZE[2] 10)"},
	}
	for _, tt := range tests {
		u := r.ok("FETCH 1 (%s)", tt.item)
		if len(u) != 1 || !strings.HasSuffix(u[0], tt.want) {
			t.Errorf("FETCH 1 (%s) = %q, want ending %q", tt.item, u, tt.want)
		}
	}
}

// ENVELOPE with groups (RFC 9051 section 7.5.2): start (NIL NIL "name"
// NIL), members, end (NIL NIL NIL NIL); the library's helper drops them.
// The library writes a space between addresses, which the grammar does not
// have (LIMITATIONS.md); clients accept it.
func TestFetchEnvelopeGroups(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, mixed)
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	u := r.ok("FETCH 1 ENVELOPE")
	want := `ENVELOPE ("Tue, 03 Feb 2026 10:00:00 +0300" "=?utf-8?q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82,_=D0=BC=D0=B8=D1=80!?=" ` +
		`(("=?utf-8?q?=D0=90=D0=BB=D0=B8=D1=81=D0=B0?=" NIL "alice" "example.org")) ` +
		`(("=?utf-8?q?=D0=90=D0=BB=D0=B8=D1=81=D0=B0?=" NIL "alice" "example.org")) ` +
		`(("=?utf-8?q?=D0=90=D0=BB=D0=B8=D1=81=D0=B0?=" NIL "alice" "example.org")) ` +
		`((NIL NIL "Friends" NIL) (NIL NIL "bob" "example.org") ("Carol C." NIL "carol" "example.net") (NIL NIL NIL NIL) (NIL NIL "dave" "example.com")) ` +
		`((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL)) NIL "<parent@example.org>" "<mixed@example.org>")`
	if len(u) != 1 || !strings.Contains(u[0], want) {
		t.Errorf("ENVELOPE =\n%q\nwant\n%q", u, want)
	}
}

func TestFetchBodyStructure(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, mixed)
	c := e.client(alice, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	bs, ok := msgs[0].BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || bs.Subtype != "mixed" || len(bs.Children) != 3 {
		t.Fatalf("BODYSTRUCTURE = %#v, want multipart/mixed with 3 parts", msgs[0].BodyStructure)
	}
	text := bs.Children[0].(*imap.BodyStructureSinglePart)
	if text.Type != "text" || text.Params["charset"] != "utf-8" || text.Encoding != "quoted-printable" || text.Text == nil || text.Text.NumLines != 2 {
		t.Errorf("part 1 = %#v, want text/plain utf-8 qp, 2 lines", text)
	}
	att := bs.Children[1].(*imap.BodyStructureSinglePart)
	if fn := att.Extended.Disposition.Params["filename"]; fn != "отчёт.txt" || att.Size != 16 {
		t.Errorf("attachment file name %q size %d, want отчёт.txt, 16", fn, att.Size)
	}
	inner := bs.Children[2].(*imap.BodyStructureSinglePart)
	if inner.MessageRFC822 == nil || inner.MessageRFC822.Envelope.Subject != "inner" {
		t.Errorf("part 3 = %#v, want message/rfc822 with subject inner", inner)
	}
	if got := msgs[0].Envelope.Subject; got != "Привет, мир!" {
		t.Errorf("subject = %q, want Привет, мир!", got)
	}
}

// FETCH BODY[] sets \Seen and reports it; BODY.PEEK[] does not.
func TestFetchSetsSeen(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(alice, msg("a", "b"))
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	if u := r.ok("FETCH 1 BODY.PEEK[]"); has(u, "FLAGS") {
		t.Errorf("PEEK reported flags: %q", u)
	}
	if u := r.ok("FETCH 1 BODY[]"); !has(u, `FLAGS (\Seen \Recent)`) {
		t.Errorf("FETCH BODY[] = %q, want the new FLAGS", u)
	}
	if u := r.ok("UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE)"); !has(u, "UID 1", "RFC822.SIZE ", "INTERNALDATE \"") {
		t.Errorf("UID FETCH = %q", u)
	}
	if _, st := r.do("FETCH 5 FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH 5 of 1 = %q, want BAD", st)
	}
}

// A large message goes out whole and byte-exact.
func TestFetchLarge(t *testing.T) {
	e := newEnv(t, nil)
	var b bytes.Buffer
	b.WriteString("Subject: big\r\n\r\n")
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for b.Len() < 8<<20 {
		b.WriteString(line)
	}
	e.deliver(alice, b.String())
	c := e.client(alice, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0].FindBodySection(sec); !bytes.Equal(got, b.Bytes()) {
		t.Errorf("BODY[] of %d bytes came back as %d bytes, different", b.Len(), len(got))
	}
}

// Odd and malformed structures still give responses that go-imap's client
// parses: every seed message, an empty multipart, a base64 message/rfc822.
func TestFetchOddStructures(t *testing.T) {
	e := newEnv(t, nil)
	paths, _ := filepath.Glob("testdata/msgs/*.eml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		e.deliver(alice, string(b))
	}
	e.deliver(alice, "Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts at all\r\n")
	e.deliver(alice, "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nRnJvbTogYUBiCgpoaQo=\r\n")
	e.deliver(alice, "")
	c := e.client(alice, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	n := uint32(len(paths) + 3)
	for seq := uint32(1); seq <= n; seq++ {
		msgs, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{
			Envelope:      true,
			BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
			BodySection:   []*imap.FetchItemBodySection{{Part: []int{1}, Peek: true}},
		}).Collect()
		if err != nil || len(msgs) != 1 || msgs[0].BodyStructure == nil || msgs[0].Envelope == nil {
			t.Errorf("FETCH %d: %d responses, %v", seq, len(msgs), err)
		}
	}
	all, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{}}).Collect()
	if err != nil || len(all) != int(n) {
		t.Errorf("FETCH 1:* = %d responses, %v; want %d", len(all), err, n)
	}
}
