package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postvault/postvault/bench/dovecot"
	"github.com/postvault/postvault/mail/store"
)

// recoverDovecotConf serves the export as the README tells a user to:
// Dovecot with mail_location = maildir:DIR/%u, folders with "/" between
// levels as postvault shows them.
const recoverDovecotConf = dovecot.Common + `protocols = imap
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{port}}
  }
  inet_listener imaps {
    port = 0
  }
}
`

// What `postvault recover` writes is read by a Maildir server no one here
// wrote: Dovecot, configured as the README says, shows every folder, every
// message byte for byte with its UID, UIDVALIDITY, flags, keywords and
// internal date, from a degraded array.
func TestRecoverServedByDovecot(t *testing.T) {
	bin, err := dovecot.Binary()
	if err != nil {
		t.Skip("dovecot not installed (Debian package dovecot-imapd; make deps installs it as root)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the Dovecot configuration of these tests switches to its own users: needs root (as CI runs)")
	}
	m := storeArray(t)
	if code, _, e := runCmd(t, "secret\n", append([]string{"user", "add", "bob@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	want := fillForRecovery(t, m)

	// Not t.TempDir(): Dovecot's processes must get through its 0700 parent.
	dir, err := os.MkdirTemp("", "pv-recover-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, addrs, err := dovecot.Launch(bin, &dovecot.Options{Dir: dir, Conf: recoverDovecotConf,
		Ports: []string{"{{port}}"}, Owner: "nobody:nogroup", Users: []string{"bob@example.org"},
		Entry: func() string { return "{PLAIN}dovecot-side" }, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(10 * time.Second)
	// One member gone: recover reads the degraded RAID-5.
	out := filepath.Join(dir, "mail")
	if code, o, e := runCmd(t, "", append([]string{"recover", "--out", out}, m[1:]...)...); code != 0 {
		t.Fatalf("recover = %d %q %q", code, o, e)
	}
	if os.Geteuid() == 0 { // Dovecot reads mail as the userdb's nobody
		if o, err := exec.Command("chown", "-R", "nobody:nogroup", out).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, o)
		}
	}

	c, err := imapclient.DialInsecure(addrs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("bob@example.org", "dovecot-side").Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, dovecot.LogTail(dir, 20))
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	for name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("Dovecot lists %q, not %q", names, name)
		}
	}
	for name, w := range want {
		sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Errorf("select %q: %v", name, err)
			continue
		}
		if sel.UIDValidity != w.status.UIDValidity || int(sel.NumMessages) != len(w.msgs) {
			t.Errorf("%s: UIDVALIDITY %d, %d messages; want %d, %d", name, sel.UIDValidity, sel.NumMessages, w.status.UIDValidity, len(w.msgs))
		}
		if len(w.msgs) == 0 {
			continue
		}
		got, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true,
			InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Errorf("fetch %q: %v", name, err)
			continue
		}
		if len(got) != len(w.msgs) {
			t.Errorf("%s: fetched %d messages, want %d", name, len(got), len(w.msgs))
			continue
		}
		for i, g := range got {
			wm := w.msgs[i]
			var flags []string
			for _, f := range g.Flags {
				if f != `\Recent` {
					flags = append(flags, string(f))
				}
			}
			slices.Sort(flags)
			wf := slices.Clone(wm.Flags)
			slices.Sort(wf)
			if uint32(g.UID) != wm.UID || !slices.Equal(flags, wf) || !g.InternalDate.Equal(wm.InternalDate.Truncate(time.Second)) {
				t.Errorf("%s UID %d: Dovecot says UID %d flags %q date %v; want flags %q date %v",
					name, wm.UID, g.UID, flags, g.InternalDate, wf, wm.InternalDate)
			}
			if body := g.FindBodySection(&imap.FetchItemBodySection{}); !bytes.Equal(body, w.bodies[i]) {
				t.Errorf("%s UID %d: body %q, want %q", name, wm.UID, body, w.bodies[i])
			}
		}
	}
}

type recovered struct {
	status store.Status
	msgs   []store.Message
	bodies [][]byte
}

// fillForRecovery writes mail for bob on the members through the store
// (folders in two levels and outside ASCII, flags, keywords, dates, an
// expunged UID) and returns what each mailbox holds.
func fillForRecovery(t *testing.T, members []string) map[string]recovered {
	t.Helper()
	ctx := context.Background()
	var errOut bytes.Buffer
	s, err := openStore(stdio{strings.NewReader(""), io.Discard, &errOut}, members, false, false)
	if err != nil {
		t.Fatal(err, errOut.String())
	}
	defer s.arr.Close()
	defer s.Close()
	a, err := s.Account("bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Work", "Work/2026", "Отчёты"} {
		if err := a.CreateMailbox(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 3, 14, 9, 26, 53, 0, time.FixedZone("", 3600))
	for i, m := range []struct {
		mailbox string
		flags   []string
	}{
		{"INBOX", []string{store.FlagSeen}},
		{"INBOX", nil}, // expunged below: UIDs 1 and 3 stay
		{"INBOX", []string{store.FlagFlagged, store.FlagAnswered, "$Important"}},
		{"Work/2026", []string{store.FlagSeen, "project-x", "$Important"}},
		{"Отчёты", []string{store.FlagDraft}},
		{"Sent", []string{store.FlagSeen, "$Forwarded"}},
	} {
		body := "From: a@example.net\r\nSubject: message " + string(rune('A'+i)) + "\r\n\r\nline one\r\nline two\r\n"
		if _, _, err := a.Append(ctx, m.mailbox, m.flags, day.Add(time.Duration(i)*time.Hour), strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Expunge(ctx, "INBOX", store.UIDSet{{Start: 2, Stop: 2}}); err != nil {
		t.Fatal(err)
	}
	mbs, err := a.Mailboxes()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]recovered{}
	for _, mb := range mbs {
		msgs, st, err := a.Messages(mb.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := recovered{status: st, msgs: msgs}
		for _, m := range msgs {
			b, err := a.Open(mb.Name, m.UID)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(b)
			b.Close()
			if err != nil {
				t.Fatal(err)
			}
			r.bodies = append(r.bodies, data)
		}
		want[mb.Name] = r
	}
	if len(want["INBOX"].msgs) != 2 || len(want["Work/2026"].msgs) != 1 {
		t.Fatalf("store holds %+v", want)
	}
	return want
}
