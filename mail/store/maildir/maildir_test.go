package maildir_test

import (
	"context"
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
		{"INBOX", ""}, {"Sent", ".Sent"}, {"Work/2026", ".Work.2026"}, {"v1.2", ".v1%2E2"}, {"Привет", ".Привет"},
	} {
		if got := maildir.FolderName(c.in); got != c.want {
			t.Errorf("FolderName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := maildir.Info([]string{store.FlagSeen, store.FlagAnswered, "$Forwarded", store.FlagDeleted, store.FlagDraft, store.FlagFlagged, "Work"}); got != "DFPRST" {
		t.Errorf("Info = %q", got)
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	v := storetest.NewMem(16<<20, 0)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(v, &store.Options{Password: store.PasswordCost{Time: 1, MemoryK: 64, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
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
