package imap_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// Python's imaplib, a client no one here wrote.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: skipping the imaplib test")
	}
	e := newEnv(t, nil)
	e.deliver(alice, "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: =?utf-8?b?0J/RgNC40LLQtdGCLCDQvNC40YAh?=\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nТекст письма.\r\n")
	host, port, _ := net.SplitHostPort(e.addr)
	out, err := exec.Command(py, "testdata/imaplib_client.py", host, port, alice, password).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	for k, want := range map[string]string{
		"login":     "OK",
		"rev2":      "True",
		"list":      "Archive,Drafts,INBOX,Junk,Sent,Trash",
		"exists":    "1",
		"search":    "1",
		"subject":   "Привет, мир!",
		"body":      "Текст письма.",
		"flags":     `1 (FLAGS (\Seen \Recent))`,
		"roundtrip": "True",
		"expunge":   "1",
		"create":    "OK",
		"utf8list":  `(\HasNoChildren) "/" "Письма"`,
	} {
		if got[k] != want {
			t.Errorf("imaplib %s = %q, want %q\n%s", k, got[k], want, out)
		}
	}
	if !strings.HasPrefix(got["append"], "OK [APPENDUID ") {
		t.Errorf("imaplib append = %q", got["append"])
	}
}

// curl's IMAP, another client no one here wrote.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed: skipping the curl IMAP test")
	}
	e := newEnv(t, nil)
	body := "From: alice@example.org\r\nSubject: curl\r\n\r\nВсё хорошо.\r\n"
	e.deliver(alice, body)
	url := "imap://" + e.addr + "/INBOX"
	out, err := exec.Command(curl, "-sS", "--max-time", "20", url+";UID=1", "-u", alice+":"+password).CombinedOutput()
	if err != nil {
		t.Fatalf("curl fetch: %v\n%s", err, out)
	}
	if string(out) != body {
		t.Errorf("curl fetched %q, want %q", out, body)
	}
	out, err = exec.Command(curl, "-sS", "--max-time", "20", "imap://"+e.addr+"/", "-u", alice+":"+password).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"Sent"`) {
		t.Errorf("curl list = %q, %v", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--max-time", "20", url, "-X", "SEARCH SUBJECT curl", "-u", alice+":"+password).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "* SEARCH 1") {
		t.Errorf("curl search = %q, %v", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--max-time", "20", "imap://"+e.addr+"/INBOX", "-u", alice+":wrong").CombinedOutput()
	if err == nil {
		t.Errorf("curl with a wrong password succeeded: %q", out)
	}
}
