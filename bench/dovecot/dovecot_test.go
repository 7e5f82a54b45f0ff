package dovecot

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestArgon2id checks the PHC string: its fields, and that its hash is the
// password's under its own salt and cost.
func TestArgon2id(t *testing.T) {
	h := Argon2id("secret", 1, 8<<10, 1)
	f := strings.Split(h, "$")
	if len(f) != 6 || f[0] != "{ARGON2ID}" || f[1] != "argon2id" || f[2] != "v=19" || f[3] != "m=8192,t=1,p=1" {
		t.Fatalf("hash %q: not {ARGON2ID}$argon2id$v=19$m=8192,t=1,p=1$SALT$HASH", h)
	}
	e := base64.RawStdEncoding
	salt, err1 := e.DecodeString(f[4])
	key, err2 := e.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("hash %q: salt/key %v %v %d %d", h, err1, err2, len(salt), len(key))
	}
	if !bytes.Equal(key, argon2.IDKey([]byte("secret"), salt, 1, 8<<10, 1, 32)) {
		t.Fatal("hash does not verify")
	}
	if Argon2id("secret", 1, 8<<10, 1) == h {
		t.Fatal("two hashes share a salt")
	}
}

func TestWriteConfig(t *testing.T) {
	dir := t.TempDir()
	p, err := WriteConfig(dir, "base_dir = {{dir}}/run\nport = {{port}}\n", "{{port}}", "1234")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if want := "base_dir = " + dir + "/run\nport = 1234\n"; string(b) != want || p != filepath.Join(dir, "dovecot.conf") {
		t.Fatalf("%s: %q, want %q", p, b, want)
	}
	if _, err := WriteConfig(dir, "x", "{{odd}}"); err == nil {
		t.Fatal("odd vars accepted")
	}
}

func TestFreePorts(t *testing.T) {
	ps, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0] == ps[1] || ps[1] == ps[2] || ps[0] == ps[2] {
		t.Fatalf("ports %v", ps)
	}
}
