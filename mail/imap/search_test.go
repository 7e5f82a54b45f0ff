package imap_test

import (
	"strings"
	"testing"
)

// SEARCH, every criterion of RFC 9051 section 6.4.4 (and RFC 3501's
// RECENT, NEW, OLD), over messages whose text needs decoding.
func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	msgs := []string{
		// 1: plain ASCII
		"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nCc: carol@example.net\r\nSubject: Quarterly report\r\n" +
			"Date: Mon, 05 Jan 2026 09:00:00 +0000\r\nX-Tag: blue\r\n\r\nThe numbers are in.\r\n",
		// 2: Cyrillic subject in an encoded word, KOI8-R base64 body
		"From: =?koi8-r?b?98HT0Q==?= <vasya@example.ru>\r\nTo: alice@example.org\r\nSubject: =?utf-8?b?0J/RgNC40LLQtdGCLCDQvNC40YAh?=\r\n" +
			"Date: Tue, 06 Jan 2026 23:30:00 -0500\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			"89fF0sjTxcvSxdTO2cog0MzBziDEz8vVzcXO1M/X\r\n",
		// 3: multipart, the word only in a quoted-printable HTML part
		"From: carol@example.net\r\nTo: alice@example.org\r\nSubject: lunch\r\nDate: Wed, 07 Jan 2026 12:00:00 +0100\r\n" +
			"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"<p>Caf=C3=A9 at noon? Bring the sp=\r\nreadsheet</p>\r\n--b--\r\n",
	}
	for _, m := range msgs {
		e.deliver(alice, m)
	}
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	r.ok(`STORE 1 +FLAGS (\Seen \Flagged $Work)`)
	r.ok(`STORE 3 +FLAGS (\Deleted \Answered)`)
	big := len(msgs[2])
	tests := []struct {
		query string
		want  string
	}{
		{"ALL", "1 2 3"},
		{"1:2", "1 2"},
		{"2:*", "2 3"},
		{"UID 3:*", "3"},
		{"SEEN", "1"},
		{"UNSEEN", "2 3"},
		{"FLAGGED", "1"},
		{"UNFLAGGED", "2 3"},
		{"DELETED", "3"},
		{"UNDELETED", "1 2"},
		{"ANSWERED", "3"},
		{"UNANSWERED", "1 2"},
		{"DRAFT", ""},
		{"UNDRAFT", "1 2 3"},
		{"KEYWORD $Work", "1"},
		{"KEYWORD $work", "1"},
		{"UNKEYWORD $Work", "2 3"},
		{"RECENT", "1 2 3"},
		{"NEW", "2 3"},
		{"OLD", ""},
		{"FROM alice", "1"},
		{`FROM "Вася"`, "2"},
		{"TO alice@example.org", "2 3"},
		{"CC carol", "1"},
		{"BCC carol", ""},
		{`SUBJECT "привет"`, "2"},
		{"SUBJECT REPORT", "1"},
		{"HEADER X-Tag blue", "1"},
		{`HEADER X-Tag ""`, "1"},
		{`HEADER Content-Transfer-Encoding ""`, "2"}, // 3 has it in a part only,
		{"BODY numbers", "1"},
		{"BODY \"сегодня план\"", ""},
		{"BODY \"Сверхсекретный план\"", "2"},
		{`BODY "CAFÉ"`, "3"},
		{"BODY spreadsheet", "3"},
		{"BODY quarterly", ""},
		{"TEXT quarterly", "1"},
		{`TEXT "ДОКУМЕНТОВ"`, "2"},
		{"SENTON 6-Jan-2026", "2"},
		{"SENTSINCE 6-Jan-2026", "2 3"},
		{"SENTBEFORE 6-Jan-2026", "1"},
		{"SINCE 1-Jan-2000", "1 2 3"},
		{"BEFORE 1-Jan-2000", ""},
		{"ON 1-Jan-2000", ""},
		{"LARGER " + itoa(big-1), "3"},
		{"SMALLER " + itoa(big), "1 2"},
		{"NOT SEEN", "2 3"},
		{"OR SEEN DELETED", "1 3"},
		{"OR (FROM alice) (SUBJECT lunch)", "1 3"},
		{"NOT (OR SEEN DELETED)", "2"},
		{"UNSEEN UNDELETED", "2"},
		{`CHARSET UTF-8 SUBJECT "Привет"`, "2"},
	}
	for _, tt := range tests {
		u, st := r.do("SEARCH %s", tt.query)
		if !strings.HasPrefix(st, "OK") {
			t.Errorf("SEARCH %s = %s", tt.query, st)
			continue
		}
		want := strings.TrimSpace("* SEARCH " + tt.want)
		if len(u) != 1 || u[0] != want {
			t.Errorf("SEARCH %s = %q, want %q", tt.query, u, want)
		}
	}
	// As Thunderbird sends it: the UTF-8 text in a literal.
	if u := r.ok("SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s", len("привет"), "привет"); len(u) != 1 || u[0] != "* SEARCH 2" {
		t.Errorf("SEARCH with a UTF-8 literal = %q, want * SEARCH 2", u)
	}
	if _, st := r.do("SEARCH CHARSET KOI8-R ALL"); !strings.HasPrefix(st, "NO [BADCHARSET]") {
		t.Errorf("SEARCH CHARSET KOI8-R = %q, want NO [BADCHARSET]", st)
	}
}

// ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
func TestSearchReturn(t *testing.T) {
	e := newEnv(t, nil)
	for _, s := range []string{"a", "b", "c", "d"} {
		e.deliver(alice, msg(s, s))
	}
	r := e.rawLogin(alice)
	r.ok("SELECT INBOX")
	r.ok(`STORE 2,4 +FLAGS (\Flagged)`)
	if u := r.ok("SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED"); !has(u, "* ESEARCH (TAG \"a3\") MIN 2 MAX 4 COUNT 2") && !has(u, "ALL 2,4", "MIN 2", "MAX 4", "COUNT 2") {
		t.Errorf("ESEARCH = %q", u)
	}
	if u := r.ok("UID SEARCH RETURN (COUNT) DRAFT"); !has(u, "UID COUNT 0") {
		t.Errorf("UID ESEARCH COUNT = %q", u)
	}
	r.ok("SEARCH RETURN (SAVE) FLAGGED")
	if u := r.ok("FETCH $ UID"); len(u) != 2 || !has(u, "* 2 FETCH (UID 2)") || !has(u, "* 4 FETCH (UID 4)") {
		t.Errorf("FETCH $ = %q, want messages 2 and 4", u)
	}
	if u := r.ok("SEARCH $ SUBJECT d"); !has(u, "* SEARCH 4") {
		t.Errorf("SEARCH $ SUBJECT d = %q", u)
	}
}

func itoa(n int) string {
	s := ""
	for n > 0 || s == "" {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
