package appliance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/mail/store"
)

// The array tells the store which ranges are in use (HasLog and salvage
// read only those).
var _ store.UseMap = (*raid.Array)(nil)

// An array whose store lost both superblocks (overwritten: a mistyped dd, a
// bug) is a damaged store, not a blank array: serve refuses to make a new
// store over it, and the mail stays for `postvault recover` to salvage.
func TestServeDoesNotFormatOverALog(t *testing.T) {
	dir := t.TempDir()
	ap, _ := startDev(t, dir)
	ctx := context.Background()
	if err := ap.store.AddUser(ctx, "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(ap.Addrs().SMTP, "alice@example.org", "Subject: keep\r\n\r\nKEEP ME\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := ap.Close(); err != nil {
		t.Fatal(err)
	}

	paths, _ := filepath.Glob(filepath.Join(dir, "disk*.img"))
	arr := assembleFiles(t, paths, false)
	if _, err := arr.WriteAt(bytes.Repeat([]byte("garbage!"), 1024), 0); err != nil {
		t.Fatal(err)
	}
	if err := arr.Close(); err != nil {
		t.Fatal(err)
	}

	cfg := devConfig(t, dir)
	ap2, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err == nil {
		ap2.Close()
		t.Fatal("serve made a new store over a store's log")
	}
	if !errors.Is(err, store.ErrLogWithoutRoot) {
		t.Fatalf("Start = %v, want ErrLogWithoutRoot", err)
	}

	// What `postvault store repair` does; then the box starts with the mail.
	arr = assembleFiles(t, paths, false)
	s, err := store.Open(arr, &store.Options{Salvage: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("salvage after the refused start: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ap3, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatalf("start after the repair: %v", err)
	}
	defer ap3.Close()
	checkIMAP(t, ap3.Addrs().IMAP, "alice@example.org", "pw", 1, "KEEP ME")
}

func assembleFiles(t *testing.T, paths []string, readOnly bool) *raid.Array {
	t.Helper()
	var ms []raid.Member
	for _, p := range paths {
		m, err := raid.OpenFile(p, readOnly)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	arr, err := raid.Assemble(ms, &raid.AssembleOptions{ReadOnly: readOnly})
	if err != nil {
		t.Fatal(err)
	}
	return arr
}
