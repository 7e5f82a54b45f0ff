package main

import (
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/certs"
)

// The settings serve reads (serve.imap, serve.imap-conns, ...) and its TLS
// certificate are set with serve stopped; bad values are refused before
// anything is written.
func TestStoreSettings(t *testing.T) {
	m := storeArray(t)
	if code, _, e := runCmd(t, "pw\n", append([]string{"user", "add", "carol@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	now := time.Now()
	c1, k1, err := certs.SelfSigned([]string{"mail.example.org"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c2, k2, err := certs.SelfSigned([]string{"other.example.org"}, now)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		out    string // standard output, exactly (when check is set)
		check  bool
		errHas string
	}{
		{"set an address", "0.0.0.0:1143\n", []string{"set", "serve.imap"}, 0, "", true, ""},
		{"get it back without the newline", "", []string{"get", "serve.imap"}, 0, "0.0.0.0:1143", true, ""},
		{"a count", "-1\n", []string{"set", "serve.pop3-conns"}, 0, "", true, ""},
		{"not a count", "many\n", []string{"set", "serve.pop3-conns"}, 1, "", false, "takes a connection count"},
		{"the count stayed", "", []string{"get", "serve.pop3-conns"}, 0, "-1", true, ""},
		{"tls keys only together", "x", []string{"set", "tls.key"}, 1, "", false, "store tls"},
		{"list", "", []string{"settings"}, 0, "serve.imap\t0.0.0.0:1143\nserve.pop3-conns\t-1\n", true, ""},
		{"empty input deletes", "", []string{"set", "serve.imap"}, 0, "", true, ""},
		{"deleted", "", []string{"get", "serve.imap"}, 1, "", true, "no setting"},
		{"no key", "", []string{"get"}, 1, "", false, "is not a setting key"},
		{"certificate and key", string(c1) + string(k1), []string{"tls"}, 0, "", true, ""},
		{"kept", "", []string{"get", "tls.cert"}, 0, string(c1), true, ""},
		{"key of another certificate", string(c2) + string(k1), []string{"tls"}, 1, "", false, "not kept"},
		{"certificate without key", string(c2), []string{"tls"}, 1, "", false, "private key"},
		{"the first pair stayed", "", []string{"get", "tls.key"}, 0, string(k1), true, ""},
		{"key and certificate in any order", string(k2) + string(c2), []string{"tls"}, 0, "", true, ""},
		{"listed by size", "", []string{"settings"}, 0, "", false, ""},
	}
	for _, s := range steps {
		args := append(append([]string{"store"}, s.args...), m...)
		code, out, e := runCmd(t, s.stdin, args...)
		if code != s.code || (s.check && out != s.out) || !strings.Contains(e, s.errHas) {
			t.Fatalf("%s: postvault %s = %d, %q, stderr %q; want %d, %q, stderr with %q",
				s.name, strings.Join(args[:len(args)-len(m)], " "), code, out, e, s.code, s.out, s.errHas)
		}
	}
	_, out, _ := runCmd(t, "", append([]string{"store", "settings"}, m...)...)
	if strings.Contains(out, "PRIVATE") || !strings.Contains(out, "tls.key\t(private key,") {
		t.Errorf("settings shows the private key: %q", out)
	}
}
