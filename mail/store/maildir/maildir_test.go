package maildir_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/maildir"
	"github.com/postvault/postvault/mail/store/storetest"
)

func TestNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"INBOX", ""}, {"Sent", ".Sent"}, {"Work/2026", ".Work.2026"}, {"v1.2", ".v1%2E2"},
		// Modified UTF-7 (RFC 3501 section 5.1.3), as Dovecot and Courier
		// expect Maildir++ folder names; the RFC's own example is 日本語.
		{"Привет", ".&BB8EQAQ4BDIENQRC-"}, {"Отчёты/2026", ".&BB4EQgRHBFEEQgRL-.2026"},
		{"台北/日本語", ".&U,BTFw-.&ZeVnLIqe-"}, {"R&D", ".R&-D"}, {"😀 ok", ".&2D3eAA- ok"},
		{"a.b/ü", ".a%2Eb.&APw-"},
	} {
		if got := maildir.FolderName(c.in); got != c.want {
			t.Errorf("FolderName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := maildir.Info([]string{store.FlagSeen, store.FlagAnswered, "$Forwarded", store.FlagDeleted, store.FlagDraft, store.FlagFlagged, "Work"}); got != "DFPRST" {
		t.Errorf("Info = %q", got)
	}
}

// newStore returns an empty store in memory with cheap password hashing.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	v := storetest.NewMem(16<<20, 0)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(v, &store.Options{Password: store.PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	defer s.Close()
	s.AddUser(ctx, "a@x.org", "pw")
	a, _ := s.Account("a@x.org")
	a.CreateMailbox(ctx, "Work/2026", "")
	date := time.Unix(1_700_000_000, 0)
	a.Append(ctx, "INBOX", []string{store.FlagSeen}, date, strings.NewReader("hello"))
	a.Append(ctx, "Work/2026", []string{store.FlagFlagged}, date, strings.NewReader("work"))
	dir := t.TempDir()
	st, err := maildir.Export(ctx, s, dir, func(w string) { t.Error(w) })
	if err != nil || st.Messages != 2 || st.Accounts != 1 {
		t.Fatalf("Export = %+v, %v", st, err)
	}
	p := filepath.Join(dir, "a@x.org", "cur", "1700000000.P1.postvault:2,S")
	if b, err := os.ReadFile(p); err != nil || string(b) != "hello" {
		t.Fatalf("INBOX message: %q, %v", b, err)
	}
	if fi, _ := os.Stat(p); !fi.ModTime().Equal(date) {
		t.Errorf("mtime %v, want %v", fi.ModTime(), date)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a@x.org", ".Work.2026", "cur", "1700000000.P1.postvault:2,F")); err != nil || string(b) != "work" {
		t.Fatalf("Work/2026 message: %q, %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a@x.org", ".Work.2026", "dovecot-uidlist")); !strings.Contains(string(b), "1 :1700000000.P1.postvault\n") {
		t.Errorf("uidlist = %q", b)
	}
	if _, err := maildir.Export(ctx, s, dir, func(string) {}); err == nil {
		t.Error("a second export over the first overwrote files")
	}
}

// Keywords take Dovecot's letters a..z per folder, in order of first use,
// listed in dovecot-keywords; past 26 they are reported, not silently lost.
// A folder named in Cyrillic gets its modified UTF-7 directory.
func TestExportKeywords(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	defer s.Close()
	if err := s.AddUser(ctx, "a@x.org", "pw"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Account("a@x.org")
	if err := a.CreateMailbox(ctx, "Отчёты", ""); err != nil {
		t.Fatal(err)
	}
	date := time.Unix(1_700_000_000, 0)
	appends := []struct {
		mailbox string
		flags   []string
	}{
		{"Отчёты", []string{store.FlagSeen, "$Important"}},
		{"Отчёты", []string{"$Forwarded", "$Important", "Work"}},
		{"Отчёты", []string{store.FlagFlagged}},
	}
	var many []string // 27 keywords on one message: the 27th has no letter
	for i := range 27 {
		many = append(many, fmt.Sprintf("k%02d", i))
	}
	appends = append(appends, struct {
		mailbox string
		flags   []string
	}{"INBOX", many})
	for _, ap := range appends {
		if _, _, err := a.Append(ctx, ap.mailbox, ap.flags, date, strings.NewReader("m")); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	var warnings []string
	if _, err := maildir.Export(ctx, s, dir, func(w string) { warnings = append(warnings, w) }); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "a@x.org", ".&BB4EQgRHBFEEQgRL-")
	kw, _ := os.ReadFile(filepath.Join(folder, "dovecot-keywords"))
	// Flags come back system flags first, then keywords sorted.
	if want := "0 $Important\n1 $Forwarded\n2 Work\n"; string(kw) != want {
		t.Errorf("dovecot-keywords = %q, want %q", kw, want)
	}
	for _, name := range []string{"1700000000.P1.postvault:2,Sa", "1700000000.P2.postvault:2,Pabc", "1700000000.P3.postvault:2,F"} {
		if _, err := os.Stat(filepath.Join(folder, "cur", name)); err != nil {
			t.Errorf("message file: %v", err)
		}
	}
	inbox := filepath.Join(dir, "a@x.org")
	if _, err := os.Stat(filepath.Join(inbox, "cur", "1700000000.P1.postvault:2,abcdefghijklmnopqrstuvwxyz")); err != nil {
		t.Errorf("INBOX message with 26 keyword letters: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "not kept: k26") {
		t.Errorf("warnings = %q, want one naming k26", warnings)
	}
	if _, err := os.Stat(filepath.Join(dir, "a@x.org", ".Sent", "dovecot-keywords")); !os.IsNotExist(err) {
		t.Errorf("a folder without keywords got a dovecot-keywords file (%v)", err)
	}
}
