package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/raid"
)

// While a writer (a running serve) holds the members, the commands that
// only read the store refuse with a sentence naming the lock instead of
// reading a log that changes under them; nothing is written; once the
// writer is gone they work.
func TestReadersRefuseHeldMembers(t *testing.T) {
	m := storeArray(t)
	if code, _, e := runCmd(t, "pw\n", append([]string{"user", "add", "carol@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	out := filepath.Join(t.TempDir(), "out")
	tests := []struct {
		name string
		args []string
		want string // on standard output once the writer is gone
	}{
		{"user list", []string{"user", "list"}, "carol@example.org"},
		{"store check", []string{"store", "check"}, "ok: 1 accounts"},
		{"store stats", []string{"store", "stats"}, "1 accounts"},
		{"recover", []string{"recover", "--out", out}, "exported 1 accounts"},
	}
	held, err := raid.OpenFile(m[2], false)
	if err != nil {
		t.Fatal(err)
	}
	before := readFiles(t, m)
	for _, tt := range tests {
		t.Run(tt.name+" while held", func(t *testing.T) {
			code, o, e := runCmd(t, "", append(tt.args, m...)...)
			if code != 1 || o != "" || !strings.Contains(e, m[2]+" is in use") || !strings.Contains(e, "stop it first") {
				t.Errorf("postvault %s = %d, %q, stderr %q; want 1, nothing, and a sentence naming the lock on %s", tt.name, code, o, e, m[2])
			}
		})
	}
	if !bytes.Equal(before, readFiles(t, m)) {
		t.Fatal("a refused reader changed a member")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused recover made its --out directory (%v)", err)
	}
	held.Close()
	for _, tt := range tests {
		t.Run(tt.name+" after", func(t *testing.T) {
			if code, o, e := runCmd(t, "", append(tt.args, m...)...); code != 0 || !strings.Contains(o, tt.want) {
				t.Errorf("postvault %s = %d, %q (stderr %q), want 0 and %q", tt.name, code, o, e, tt.want)
			}
		})
	}
}
