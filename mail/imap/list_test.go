package imap_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// LIST with SPECIAL-USE, CHILDREN, LIST-EXTENDED, LIST-STATUS, and names in
// any script: modified UTF-7 for IMAP4rev1 (RFC 3501 section 5.1.3), UTF-8
// once UTF8=ACCEPT is enabled (RFC 6855).
func TestList(t *testing.T) {
	e := newEnv(t, nil)
	r := e.rawLogin(alice)
	// "Входящие/Отчёты" in modified UTF-7.
	r.ok(`CREATE "&BBIERQQ+BDQETwRJBDgENQ-/&BB4EQgRHBFEEQgRL-"`)
	r.ok(`CREATE "Work/2026"`)
	u := r.ok(`LIST "" "*"`)
	for _, want := range []string{
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\HasNoChildren \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
		`* LIST (\HasChildren) "/" "&BBIERQQ+BDQETwRJBDgENQ-"`,
		`* LIST (\HasNoChildren) "/" "&BBIERQQ+BDQETwRJBDgENQ-/&BB4EQgRHBFEEQgRL-"`,
		`* LIST (\HasChildren) "/" "Work"`,
	} {
		if !has(u, want) {
			t.Errorf("LIST * = %q, want %q", u, want)
		}
	}
	if u := r.ok(`LIST "" ""`); len(u) != 1 || u[0] != `* LIST (\Noselect) "/" ""` {
		t.Errorf(`LIST "" "" = %q`, u)
	}
	if u := r.ok(`LIST "" "%%"`); has(u, "Work/2026") || !has(u, `"Work"`) {
		t.Errorf("LIST %% = %q, want top level only", u)
	}
	if u := r.ok(`LIST (SPECIAL-USE) "" "*"`); len(u) != 5 || has(u, "INBOX") {
		t.Errorf("LIST (SPECIAL-USE) = %q, want the five special mailboxes", u)
	}
	if u := r.ok(`LIST "" "inbox"`); !has(u, "INBOX") {
		t.Errorf("LIST inbox = %q, want INBOX (case-insensitive)", u)
	}
	e.deliver(alice, msg("x", "y"))
	if u := r.ok(`LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))`); !has(u, "* STATUS INBOX (MESSAGES 1 UNSEEN 1 SIZE ") {
		t.Errorf("LIST-STATUS = %q", u)
	}
	r.ok(`SUBSCRIBE "Work/2026"`)
	r.ok(`SUBSCRIBE "Gone"`)
	if u := r.ok(`LIST (SUBSCRIBED) "" "*"`); !has(u, `(\HasNoChildren \Subscribed) "/" "Work/2026"`) || !has(u, `(\NonExistent \Subscribed) "/" "Gone"`) {
		t.Errorf("LIST (SUBSCRIBED) = %q", u)
	}
	if u := r.ok(`LSUB "" "*"`); !has(u, `* LSUB`, `"Work/2026"`) {
		t.Errorf("LSUB = %q", u)
	}
	r.ok(`UNSUBSCRIBE "Gone"`)
	// UTF8=ACCEPT: names go out and come in as UTF-8.
	if u := r.ok("ENABLE UTF8=ACCEPT"); !has(u, "* ENABLED UTF8=ACCEPT") {
		t.Errorf("ENABLE = %q", u)
	}
	if u := r.ok(`LIST "" "Входящие/*"`); !has(u, `"Входящие/Отчёты"`) {
		t.Errorf("LIST in UTF-8 = %q", u)
	}
	r.ok(`CREATE "日本語"`)
	if u := r.ok(`STATUS "日本語" (MESSAGES)`); !has(u, `* STATUS "日本語" (MESSAGES 0)`) {
		t.Errorf("STATUS 日本語 = %q", u)
	}
}

// The library's client sees the same names decoded.
func TestListClient(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(alice, nil)
	for _, name := range []string{"Входящие", "Входящие/Отчёты", "Ελληνικά", "العربية", "emoji 📬", "R&D"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("CREATE %q: %v", name, err)
		}
		if _, err := c.Select(name, nil).Wait(); err != nil {
			t.Errorf("SELECT %q: %v", name, err)
		}
	}
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range l {
		names = append(names, d.Mailbox)
	}
	got := strings.Join(names, "|")
	for _, want := range []string{"Входящие", "Входящие/Отчёты", "Ελληνικά", "العربية", "emoji 📬", "R&D"} {
		if !strings.Contains("|"+got+"|", "|"+want+"|") {
			t.Errorf("LIST = %q, want %q", got, want)
		}
	}
	if err := c.Create("Special", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrArchive}}).Wait(); err != nil {
		t.Errorf("CREATE (USE (\\Archive)): %v", err)
	}
}
