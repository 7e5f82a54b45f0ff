package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recover writes only into a new or empty directory, and says so before
// exporting anything, rather than failing half-way on the first file that
// exists.
func TestRecoverOutMustBeEmpty(t *testing.T) {
	m := storeArray(t)
	if code, _, e := runCmd(t, "pw\n", append([]string{"user", "add", "carol@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	base := t.TempDir()
	tests := []struct {
		name    string
		prepare func(dir string)
		code    int
	}{
		{"new directory", func(string) {}, 0},
		{"empty directory", func(dir string) { os.Mkdir(dir, 0o700) }, 0},
		{"earlier export", func(dir string) {
			runCmd(t, "", append([]string{"recover", "--out", dir}, m...)...)
		}, 1},
		{"any file", func(dir string) {
			os.Mkdir(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
		}, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(base, string(rune('a'+i)))
			tt.prepare(dir)
			code, out, e := runCmd(t, "", append([]string{"recover", "--out", dir}, m...)...)
			if code != tt.code {
				t.Fatalf("recover = %d, %q, stderr %q; want %d", code, out, e, tt.code)
			}
			if tt.code != 0 && (out != "" || !strings.Contains(e, "is not empty")) {
				t.Errorf("refused recover said %q, stderr %q; want nothing exported and \"is not empty\"", out, e)
			}
		})
	}
}
