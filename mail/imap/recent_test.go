package imap_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// \Recent survives a restart (RFC 3501 section 2.3.2): mail no session has
// seen is recent for the first session after it, mail a session has
// already claimed is recent for nobody; both after a clean shutdown (the
// mark in the checkpoint) and after a power cut (the mark replayed from
// the log). So does a keyword that no message carries any more (RFC 9051
// section 2.3.2), in FLAGS and PERMANENTFLAGS.
func TestRecentSurvivesRestart(t *testing.T) {
	for _, tt := range []struct {
		name  string
		clean bool
	}{
		{"clean shutdown", true},
		{"power cut", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "vol.img")
			st := openFileStore(t, path, true)
			if err := st.AddUser(context.Background(), alice, password); err != nil {
				t.Fatal(err)
			}
			e := startServer(t, st, nil, nil)
			e.deliver(alice, msg("one", "1"))
			e.deliver(alice, msg("two", "2"))
			r := e.rawLogin(alice)
			if u := r.ok("SELECT INBOX"); !has(u, "* 2 RECENT") {
				t.Fatalf("first SELECT = %q, want 2 RECENT", u)
			}
			// A keyword no message keeps stays defined across the restart.
			r.ok("STORE 1 +FLAGS ($Temp)")
			r.ok("STORE 1 -FLAGS ($Temp)")
			e.deliver(alice, msg("three", "3")) // seen by no session
			r.ok("LOGOUT")

			if tt.clean {
				e.srv.Close()
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				// Every acknowledged write is on the file: copy it as
				// the power goes, before any checkpoint at close.
				img, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				e.srv.Close()
				st.Close()
				if err := os.WriteFile(path, img, 0o600); err != nil {
					t.Fatal(err)
				}
			}

			st2 := openFileStore(t, path, false)
			e2 := startServer(t, st2, nil, nil)
			r2 := e2.rawLogin(alice)
			if u := r2.ok("STATUS INBOX (RECENT)"); !has(u, "(RECENT 1)") {
				t.Errorf("STATUS after restart = %q, want RECENT 1", u)
			}
			if u := r2.ok("EXAMINE INBOX"); !has(u, "* 1 RECENT") {
				t.Errorf("EXAMINE after restart = %q, want 1 RECENT", u)
			}
			u := r2.ok("SELECT INBOX")
			if !has(u, "* 1 RECENT") {
				t.Errorf("SELECT after restart = %q, want 1 RECENT (EXAMINE claims nothing)", u)
			}
			if !has(u, `* FLAGS (\Seen \Answered \Flagged \Deleted \Draft $Temp)`) || !has(u, `PERMANENTFLAGS (\Seen \Answered \Flagged \Deleted \Draft $Temp \*)`) {
				t.Errorf("SELECT after restart = %q, want $Temp in FLAGS and PERMANENTFLAGS", u)
			}
			u = r2.ok("FETCH 1:* (UID FLAGS)")
			if !has(u, `* 3 FETCH (UID 3 FLAGS (\Recent))`) || has(u, `UID 1 FLAGS (\Recent)`) || has(u, `UID 2 FLAGS (\Recent)`) {
				t.Errorf("FETCH FLAGS after restart = %q, want \\Recent on UID 3 alone", u)
			}
			if u := e2.rawLogin(alice).ok("SELECT INBOX"); !has(u, "* 0 RECENT") {
				t.Errorf("second session after restart = %q, want 0 RECENT", u)
			}
		})
	}
}

// openFileStore opens (with create, formats first) a store on a file.
func openFileStore(t *testing.T, path string, create bool) *store.Store {
	t.Helper()
	var vol *storetest.File
	var err error
	if create {
		if vol, err = storetest.CreateFile(path, 16<<20); err == nil {
			err = store.Create(vol, &store.CreateOptions{SegmentSize: 1 << 20})
		}
	} else {
		vol, err = storetest.OpenFile(path, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	return openStore(t, vol)
}
