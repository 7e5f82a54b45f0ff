package smtp_test

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Real clients that no one here wrote: swaks and Python's smtplib. `make
// deps` installs them; without them these tests skip.

func need(t *testing.T, cmd string) string {
	t.Helper()
	p, err := exec.LookPath(cmd)
	if err != nil {
		t.Skipf("%s not installed (make deps installs it): %v", cmd, err)
	}
	return p
}

func hostPort(addr string) (string, string) {
	h, p, _ := strings.Cut(addr, ":")
	return h, p
}

func TestSwaks(t *testing.T) {
	swaks := need(t, "swaks")
	// swaks ends DATA with CRLF "." CRLF after the file, so the file has
	// no final line end and the stored body gains one.
	file := "Subject: swaks тест\r\n\r\nТело письма swaks\r\n.точка"
	body := file + "\r\n"
	msgFile := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(msgFile, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		lmtp  bool
		args  []string
		to    string
		want  string // in swaks's transcript
		ok    bool
		inbox string
	}{
		{"smtp", false, nil, "alice@example.org", "250 2.0.0", true, "alice@example.org"},
		{"smtp starttls", false, []string{"--tls"}, "alice@example.org", "with ESMTPS", true, "alice@example.org"},
		{"smtp unknown user", false, nil, "nobody@example.org", "550 5.1.1", false, ""},
		{"smtp relay", false, nil, "someone@gmail.example", "550 5.7.1", false, ""},
		{"lmtp", true, []string{"--protocol", "LMTP"}, "bob@example.org", "250 2.0.0", true, "bob@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if slices.Contains(tt.args, "--tls") && exec.Command("perl", "-MNet::SSLeay", "-e", "1").Run() != nil {
				t.Skip("swaks --tls needs Perl's Net::SSLeay (Debian libnet-ssleay-perl), not installed")
			}
			e := newEnv(t, tt.lmtp, nil, nil)
			args := append([]string{"--server", e.addr, "--from", "sender@example.com", "--to", tt.to,
				"--helo", "swaks.example.com", "--data", "@" + msgFile, "--timeout", "20"}, tt.args...)
			out, err := exec.Command(swaks, args...).CombinedOutput()
			if (err == nil) != tt.ok {
				t.Fatalf("swaks %v: err %v, want ok %v\n%s", args, err, tt.ok, out)
			}
			if tt.inbox == "" {
				if !bytes.Contains(out, []byte(tt.want)) {
					t.Fatalf("swaks transcript lacks %q:\n%s", tt.want, out)
				}
				return
			}
			msgs := e.be.Messages(tt.inbox)
			if len(msgs) != 1 {
				t.Fatalf("%s has %d messages after swaks, want 1\n%s", tt.inbox, len(msgs), out)
			}
			trace, rest := split(t, msgs[0].Body)
			if rest != body {
				t.Errorf("stored body = %q, want %q", rest, body)
			}
			if !strings.Contains(string(out)+trace, tt.want) {
				t.Errorf("neither transcript nor trace has %q:\n%s\n%s", tt.want, out, trace)
			}
		})
	}
}

const smtplibScript = `
import smtplib, ssl, sys
host, port, ca, lmtp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
msg = sys.stdin.buffer.read()
if lmtp:
    s = smtplib.LMTP(host, port, timeout=20)
    s.ehlo_or_helo_if_needed = lambda: None
    s.ehlo("smtplib.example.com")
else:
    s = smtplib.SMTP(host, port, timeout=20)
    s.ehlo("smtplib.example.com")
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    s.starttls(context=ctx)
    s.ehlo("smtplib.example.com")
    if "size" not in s.esmtp_features:
        sys.exit("no SIZE advertised")
refused = s.sendmail("sender@example.com", ["alice@example.org", "info@example.org", "bob@example.org", "ghost@example.org"], msg)
print(sorted(refused.keys()))
s.quit()
`

func TestSmtplib(t *testing.T) {
	py := need(t, "python3")
	h, err := testTLS()
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.Certificate().Leaf.Raw}), 0o600)
	msg := "From: Иван <ivan@example.com>\r\nSubject: smtplib проверка\r\n\r\nПривет\r\n.dot\r\n"
	for _, lmtp := range []bool{false, true} {
		name := map[bool]string{false: "smtp+starttls", true: "lmtp"}[lmtp]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, lmtp, nil, nil)
			host, port := hostPort(e.addr)
			flag := map[bool]string{false: "0", true: "1"}[lmtp]
			cmd := exec.Command(py, "-c", smtplibScript, host, port, ca, flag)
			cmd.Stdin = strings.NewReader(msg)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("smtplib: %v\n%s\n%s", err, out, e.logs.String())
			}
			if got := strings.TrimSpace(string(out)); got != "['ghost@example.org']" {
				t.Errorf("smtplib refused %s, want ['ghost@example.org']", got)
			}
			// alice@ and info@ (an alias of alice@) are two addresses: two copies.
			for who, n := range map[string]int{"alice@example.org": 2, "bob@example.org": 1} {
				msgs := e.be.Messages(who)
				if len(msgs) != n {
					t.Fatalf("%s has %d messages, want %d", who, len(msgs), n)
				}
				for _, m := range msgs {
					if _, rest := split(t, m.Body); rest != msg {
						t.Errorf("%s: stored %q, want %q", who, rest, msg)
					}
				}
			}
		})
	}
}
