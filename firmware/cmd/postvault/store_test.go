package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(stdio{strings.NewReader(stdin), &o, &e}, args)
	return code, o.String(), e.String()
}

// storeArray creates a RAID-5 over four 24 MiB files and returns their paths.
func storeArray(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := range 4 {
		p := filepath.Join(dir, "m"+string(rune('0'+i))+".img")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 24<<20); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if code, _, e := runCmd(t, "", append([]string{"raid", "create", "--level", "5", "--chunk", "64K"}, paths...)...); code != 0 {
		t.Fatalf("raid create: %s", e)
	}
	return paths
}

func TestStoreCommands(t *testing.T) {
	m := storeArray(t)
	steps := []struct {
		stdin  string
		args   []string
		code   int
		outHas string
	}{
		{"s3cret\n", append([]string{"user", "add", "alice@example.org"}, m...), 0, ""},
		{"other\n", append([]string{"user", "add", "bob@example.org"}, m...), 0, ""},
		{"", append([]string{"alias", "add", "postmaster@example.org", "alice@example.org"}, m...), 0, ""},
		{"Subject: hi\r\n\r\nhello\r\n", append([]string{"deliver", "--to", "postmaster@example.org"}, m...), 0, "alice@example.org INBOX UID 1"},
		{"Subject: w\r\n\r\nwork\r\n", append([]string{"deliver", "--to", "bob@example.org", "--mailbox", "Archive"}, m...), 0, "Archive UID 1"},
		{"x", append([]string{"deliver", "--to", "nobody@example.org"}, m...), exNoUser, ""},
		{"", append([]string{"user", "list"}, m...), 0, "alice@example.org\t1 messages"},
		{"n3w\n", append([]string{"user", "passwd", "bob@example.org"}, m...), 0, ""},
		{"", append([]string{"store", "stats"}, m...), 0, "2 accounts"},
		{"", append([]string{"store", "compact"}, m...), 0, "freed"},
		{"", append([]string{"store", "check"}, m...), 0, "2 messages verified"},
		{"", append([]string{"alias", "del", "postmaster@example.org", "bob@example.org"}, m...), 1, ""},
		{"", append([]string{"alias", "del", "postmaster@example.org", "alice@example.org"}, m...), 0, ""},
		{"", []string{"user", "add", "x@example.org"}, 2, ""},
		{"", []string{"store", "frobnicate", m[0]}, 2, ""},
	}
	for _, s := range steps {
		code, out, errOut := runCmd(t, s.stdin, s.args...)
		if code != s.code || !strings.Contains(out, s.outHas) {
			t.Fatalf("postvault %s = %d, %q (stderr %q), want %d and %q", strings.Join(s.args[:2], " "), code, out, errOut, s.code, s.outHas)
		}
	}
	// recover is read-only: the members are byte for byte the same after it.
	before := readFiles(t, m)
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := runCmd(t, "", append([]string{"recover", "--out", dir}, m...)...)
	if code != 0 || !strings.Contains(out, "2 messages") {
		t.Fatalf("recover = %d %q %q", code, out, errOut)
	}
	if !bytes.Equal(before, readFiles(t, m)) {
		t.Fatal("recover wrote to a member")
	}
	b, err := os.ReadFile(filepath.Join(dir, "bob@example.org", ".Archive", "cur", mustGlobOne(t, filepath.Join(dir, "bob@example.org", ".Archive", "cur", "*"))))
	if err != nil || !strings.Contains(string(b), "work") {
		t.Fatalf("exported message: %q %v", b, err)
	}
	// A dead disk: recover reads the degraded array from the other three.
	dir2 := filepath.Join(t.TempDir(), "degraded")
	code, out, errOut = runCmd(t, "", append([]string{"recover", "--out", dir2}, m[1:]...)...)
	if code != 0 || !strings.Contains(out, "2 messages") {
		t.Fatalf("degraded recover = %d %q %q", code, out, errOut)
	}
	if code, _, _ := runCmd(t, "", append([]string{"user", "del", "bob@example.org"}, m...)...); code != 0 {
		t.Fatal("user del failed")
	}
	if _, out, _ := runCmd(t, "", append([]string{"user", "list"}, m...)...); strings.Contains(out, "bob@") {
		t.Fatalf("bob still listed: %q", out)
	}
}

func readFiles(t *testing.T, paths []string) []byte {
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func mustGlobOne(t *testing.T, pattern string) string {
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		t.Fatalf("%s matches %v", pattern, m)
	}
	return filepath.Base(m[0])
}

// An account command that fails names the verb and the account.
func TestUserErrorsNameTheAccount(t *testing.T) {
	m := storeArray(t)
	if code, _, e := runCmd(t, "pw\n", append([]string{"user", "add", "carol@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"pw\n", []string{"add", "carol@example.org"}, "add carol@example.org: store: user exists"},
		{"pw\n", []string{"passwd", "dave@example.org"}, "passwd dave@example.org: store: no such user"},
		{"", []string{"del", "dave@example.org"}, "del dave@example.org: store: no such user"},
	}
	for _, tt := range tests {
		code, _, e := runCmd(t, tt.stdin, append(append([]string{"user"}, tt.args...), m...)...)
		if code != 1 || !strings.Contains(e, tt.want) {
			t.Errorf("postvault user %v = %d, stderr %q; want 1 and %q", tt.args, code, e, tt.want)
		}
	}
}

// An account's quota and whether it may log in and take mail are set from
// the command line, and take effect: a disabled account's mail is refused
// as an unknown user's would be (67), an over-quota delivery is a
// temporary failure (75) so that the MTA keeps the message.
func TestUserQuotaDisable(t *testing.T) {
	m := storeArray(t)
	msg := "Subject: q\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n"
	steps := []struct {
		stdin  string
		args   []string
		code   int
		outHas string
	}{
		{"pw\n", []string{"user", "add", "carol@example.org"}, 0, ""},
		{"", []string{"user", "quota", "carol@example.org", "3K"}, 0, ""},
		{"", []string{"user", "list"}, 0, "quota 3072\tenabled"},
		{msg, []string{"deliver", "--to", "carol@example.org"}, 0, "UID 1"},
		{msg, []string{"deliver", "--to", "carol@example.org"}, exTempFail, ""},
		{"", []string{"user", "quota", "carol@example.org", "none"}, 0, ""},
		{msg, []string{"deliver", "--to", "carol@example.org"}, 0, "UID 2"},
		{"", []string{"user", "disable", "carol@example.org"}, 0, ""},
		{"", []string{"user", "list"}, 0, "quota 0\tdisabled"},
		{msg, []string{"deliver", "--to", "carol@example.org"}, exNoUser, ""},
		{"", []string{"user", "enable", "carol@example.org"}, 0, ""},
		{msg, []string{"deliver", "--to", "carol@example.org"}, 0, "UID 3"},
		{"", []string{"user", "quota", "carol@example.org", "lots"}, 1, ""},
		{"", []string{"user", "quota", "carol@example.org"}, 2, ""},
		{"", []string{"user", "disable", "nobody@example.org"}, 1, ""},
	}
	for _, s := range steps {
		args := s.args
		if len(args) > 2 || args[1] == "list" {
			args = append(append([]string{}, args...), m...)
		}
		if s.code == 2 { // too few words: members are taken for them
			args = s.args
		}
		code, out, errOut := runCmd(t, s.stdin, args...)
		if code != s.code || !strings.Contains(out, s.outHas) {
			t.Fatalf("postvault %s = %d, %q (stderr %q), want %d and %q", strings.Join(s.args, " "), code, out, errOut, s.code, s.outHas)
		}
	}
	_, _, errOut := runCmd(t, "", append([]string{"user", "quota", "carol@example.org", "lots"}, m...)...)
	if !strings.Contains(errOut, "none for no limit") {
		t.Errorf("a bad quota says %q", errOut)
	}
}

// With both superblocks of the store overwritten, the store does not open,
// but recover salvages the mail from the log (and says so), still without
// writing to a member.
func TestRecoverSalvage(t *testing.T) {
	m := storeArray(t)
	if code, _, e := runCmd(t, "pw\n", append([]string{"user", "add", "dora@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	for _, body := range []string{"Subject: one\r\n\r\nfirst\r\n", "Subject: two\r\n\r\nsecond\r\n"} {
		if code, _, e := runCmd(t, body, append([]string{"deliver", "--to", "dora@example.org"}, m...)...); code != 0 {
			t.Fatalf("deliver: %s", e)
		}
	}
	if code, _, e := runCmd(t, strings.Repeat("garbage!", 1024), append([]string{"raid", "write", "--offset", "0"}, m...)...); code != 0 {
		t.Fatalf("raid write: %s", e)
	}
	if code, _, _ := runCmd(t, "", append([]string{"store", "check"}, m...)...); code == 0 {
		t.Fatal("store check passed a store without superblocks")
	}
	before := readFiles(t, m)
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := runCmd(t, "", append([]string{"recover", "--out", dir}, m...)...)
	if code != 0 || !strings.Contains(out, "2 messages") || !strings.Contains(errOut, "salvage") {
		t.Fatalf("recover = %d %q %q", code, out, errOut)
	}
	if !bytes.Equal(before, readFiles(t, m)) {
		t.Fatal("recover wrote to a member")
	}
	b, err := os.ReadFile(filepath.Join(dir, "dora@example.org", "cur", mustGlobOne(t, filepath.Join(dir, "dora@example.org", "cur", "*.P2.*"))))
	if err != nil || !strings.Contains(string(b), "second") {
		t.Fatalf("exported message: %q %v", b, err)
	}
	// store repair writes the superblocks again from the log; then the
	// store opens as before, and a second repair has nothing to do.
	for _, step := range []struct{ args, want string }{
		{"store repair", "repaired: 1 accounts, 2 messages"},
		{"store check", "ok: 1 accounts"},
		{"store repair", "nothing to repair"},
	} {
		code, out, errOut := runCmd(t, "", append(strings.Fields(step.args), m...)...)
		if code != 0 || !strings.Contains(out, step.want) {
			t.Fatalf("%s = %d %q %q, want %q", step.args, code, out, errOut, step.want)
		}
	}
}
