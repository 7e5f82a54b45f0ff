package pop3_test

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/pop3"
)

// Real clients that no one here wrote: Python's poplib and curl. `make deps`
// installs them; without them these tests skip.

func need(t *testing.T, cmd string) string {
	t.Helper()
	p, err := exec.LookPath(cmd)
	if err != nil {
		t.Skipf("%s not installed (make deps installs it): %v", cmd, err)
	}
	return p
}

// caFile writes the test certificate as a PEM file for the clients.
func caFile(t *testing.T) string {
	t.Helper()
	h, err := testTLS()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.Certificate().Leaf.Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The poplib script logs in (over STLS or implicit TLS as asked), lists,
// reads and deletes, and prints what it saw as JSON.
const poplibScript = `
import json, poplib, ssl, sys
mode, host, port, ca, user, pw = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
if mode == "pop3s":
    p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=20)
else:
    p = poplib.POP3(host, int(port), timeout=20)
    if mode == "stls":
        p.stls(context=ctx)
out = {"welcome": p.getwelcome().decode(), "capa": sorted(p.capa().keys())}
p.user(user)
p.pass_(pw)
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["retr"] = [b"\r\n".join(p.retr(i + 1)[1]).hex() for i in range(out["stat"][0])]
out["top"] = [l.decode() for l in p.top(1, 1)[1]]
p.dele(1)
p.noop()
out["quit"] = p.quit().decode()
print(json.dumps(out))
`

func TestPoplib(t *testing.T) {
	py := need(t, "python3")
	cyrillic := "From: Иван <ivan@example.org>\r\nSubject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nПривет, мир!\r\n.Точка в начале строки\r\n"
	plain := "Subject: second\r\n\r\nline\r\n"
	for _, mode := range []string{"plain", "stls", "pop3s"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, nil)
			u1 := e.be.Deliver("alice", []byte(cyrillic))
			u2 := e.be.Deliver("alice", []byte(plain))
			addr := e.addr
			if mode == "pop3s" {
				addr = e.tlsAddr
			}
			host, port, _ := strings.Cut(addr, ":")
			cmd := exec.Command(py, "-c", poplibScript, mode, host, port, caFile(t), "alice", "secret")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("poplib: %v\n%s\nserver log:\n%s", err, stderr.String(), e.logs.String())
			}
			var got struct {
				Welcome string
				Capa    []string
				Stat    []int
				List    []string
				Uidl    []string
				Retr    []string
				Top     []string
				Quit    string
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("poplib output %q: %v", out, err)
			}
			if want := []int{2, len(cyrillic) + len(plain)}; fmt.Sprint(got.Stat) != fmt.Sprint(want) {
				t.Errorf("poplib stat = %v, want %v", got.Stat, want)
			}
			if want := fmt.Sprintf("[1 %d 2 %d]", len(cyrillic), len(plain)); fmt.Sprint(got.List) != want {
				t.Errorf("poplib list = %v, want %v", got.List, want)
			}
			if want := fmt.Sprintf("[1 %s 2 %s]", pop3.UIDL(1234, u1), pop3.UIDL(1234, u2)); fmt.Sprint(got.Uidl) != want {
				t.Errorf("poplib uidl = %v, want %v", got.Uidl, want)
			}
			// poplib splits at CRLF and undoes dot-stuffing; joined with CRLF
			// the message is the stored one without its final CRLF.
			for i, stored := range []string{cyrillic, plain} {
				want := strings.TrimSuffix(stored, "\r\n")
				if b := mustHex(t, got.Retr[i]); string(b) != want {
					t.Errorf("poplib retr %d = %q, want %q", i+1, b, want)
				}
			}
			if len(got.Top) != 5 || got.Top[4] != "Привет, мир!" {
				t.Errorf("poplib top 1 1 = %q, want the header, blank line and the first body line", got.Top)
			}
			if !strings.HasPrefix(got.Quit, "+OK") {
				t.Errorf("poplib quit = %q", got.Quit)
			}
			if uids := e.be.UIDs("alice"); fmt.Sprint(uids) != fmt.Sprint([]uint32{u2}) {
				t.Errorf("INBOX after poplib's DELE 1 and QUIT = %v, want [%d]", uids, u2)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil && s != "" {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func TestCurl(t *testing.T) {
	curl := need(t, "curl")
	e := newEnv(t, nil)
	m1 := "Subject: Тест curl\r\n\r\nТело\r\n.dot\r\n"
	m2 := "Subject: two\r\n\r\nsecond\r\n"
	e.be.Deliver("alice", []byte(m1))
	e.be.Deliver("alice", []byte(m2))
	ca := caFile(t)
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-sS", "--max-time", "20", "-u", "alice:secret"}, args...)
		out, err := exec.Command(curl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %q: %v\n%s\nserver log:\n%s", args, err, out, e.logs.String())
		}
		return string(out)
	}
	if got := run("pop3://" + e.addr + "/1"); got != m1 {
		t.Errorf("curl pop3://.../1 = %q, want %q", got, m1)
	}
	if got, want := run("pop3://"+e.addr+"/"), fmt.Sprintf("1 %d\r\n2 %d\r\n", len(m1), len(m2)); got != want {
		t.Errorf("curl LIST = %q, want %q", got, want)
	}
	if got := run("--ssl-reqd", "--cacert", ca, "pop3://localhost:"+port(e.addr)+"/2"); got != m2 {
		t.Errorf("curl over STLS = %q, want %q", got, m2)
	}
	if got := run("--cacert", ca, "pop3s://localhost:"+port(e.tlsAddr)+"/1"); got != m1 {
		t.Errorf("curl pop3s = %q, want %q", got, m1)
	}
	run("-X", "DELE", "-I", "pop3://"+e.addr+"/1")
	if uids := e.be.UIDs("alice"); len(uids) != 1 || uids[0] != 2 {
		t.Errorf("INBOX after curl DELE 1 = %v, want [2]", uids)
	}
	// A wrong password is refused, and curl says so.
	out, err := exec.Command(curl, "-sS", "--max-time", "20", "-u", "alice:wrong", "pop3://"+e.addr+"/").CombinedOutput()
	if err == nil {
		t.Errorf("curl with a wrong password succeeded: %s", out)
	}
}

func port(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}
