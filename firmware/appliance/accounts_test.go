package appliance

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// call makes an API request as user (none when user is "") and returns
// the status and body.
func call(t *testing.T, method, url, user, pass, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// imapLogin reports whether user can log in over IMAP with pass.
func imapLogin(t *testing.T, addr, user, pass string) bool {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Login(user, pass).Wait() == nil
}

// The accounts of a running box are managed over its API, by the admin
// only, with the effects the mail protocols see: an account made here
// receives mail over SMTP and logs in over IMAP with the password given
// here, a new password replaces the old, a quota refuses mail past it, a
// disabled account neither logs in nor takes mail, an alias delivers, and
// deleting needs saying that the mail goes too.
func TestAccountsAPI(t *testing.T) {
	ap, pw, _ := startWith(t, append([]string{"--dev", t.TempDir()}, onLoopback("http", "imap", "smtp")...)...)
	base := "http://" + ap.Addrs().HTTP
	const admin = "admin@example.org"
	alice := base + "/api/accounts/alice@example.org"

	steps := []struct {
		name, method, url, user, pass, body string
		want                                int
		has                                 string
	}{
		{"list without credentials", "GET", base + "/api/accounts", "", "", "", http.StatusUnauthorized, ""},
		{"add without credentials", "POST", alice, "", "", "s3cret\n", http.StatusUnauthorized, ""},
		{"add with a wrong password", "POST", alice, admin, "guess", "s3cret\n", http.StatusUnauthorized, ""},
		{"add", "POST", alice, admin, pw, "s3cret\n", http.StatusCreated, `"name":"alice@example.org"`},
		{"add again", "POST", alice, admin, pw, "other\n", http.StatusConflict, "exists"},
		{"add without a password", "POST", base + "/api/accounts/bob@example.org", admin, pw, "", http.StatusBadRequest, "password"},
		{"add a bad name", "POST", base + "/api/accounts/not-an-address", admin, pw, "x\n", http.StatusBadRequest, ""},
		{"a non-admin account", "GET", base + "/api/accounts", "alice@example.org", "s3cret", "", http.StatusForbidden, ""},
		{"list", "GET", base + "/api/accounts", admin, pw, "", http.StatusOK, `"name":"alice@example.org","messages":0`},
		{"alias", "POST", base + "/api/aliases/info@example.org", admin, pw, "alice@example.org", http.StatusCreated, ""},
		{"alias list", "GET", base + "/api/aliases", admin, pw, "", http.StatusOK, `{"address":"info@example.org","account":"alice@example.org"}`},
	}
	run := func(steps []struct {
		name, method, url, user, pass, body string
		want                                int
		has                                 string
	}) {
		t.Helper()
		for _, s := range steps {
			code, body := call(t, s.method, s.url, s.user, s.pass, s.body)
			if code != s.want || !strings.Contains(body, s.has) {
				t.Fatalf("%s: %s %s = %d %q, want %d and %q", s.name, s.method, s.url, code, body, s.want, s.has)
			}
		}
	}
	run(steps)

	msg := "Subject: hi\r\n\r\nHELLO ALICE\r\n"
	if err := sendMail(ap.Addrs().SMTP, "alice@example.org", msg); err != nil {
		t.Fatalf("SMTP: %v", err)
	}
	if err := sendMail(ap.Addrs().SMTP, "info@example.org", msg); err != nil {
		t.Fatalf("SMTP to the alias: %v", err)
	}
	checkIMAP(t, ap.Addrs().IMAP, "alice@example.org", "s3cret", 2, "HELLO ALICE")

	run([]struct {
		name, method, url, user, pass, body string
		want                                int
		has                                 string
	}{
		{"new password", "POST", alice + "/password", admin, pw, "n3w-Пароль\r\n", http.StatusOK, ""},
		{"quota", "POST", alice + "/quota", admin, pw, "1K", http.StatusOK, `"quota":1024`},
		{"bad quota", "POST", alice + "/quota", admin, pw, "lots", http.StatusBadRequest, "none for no limit"},
	})
	if imapLogin(t, ap.Addrs().IMAP, "alice@example.org", "s3cret") || !imapLogin(t, ap.Addrs().IMAP, "alice@example.org", "n3w-Пароль") {
		t.Fatal("after the password change the old one must fail and the new one work")
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n"
	if err := sendMail(ap.Addrs().SMTP, "alice@example.org", big); err == nil || !strings.Contains(err.Error(), "52") && !strings.Contains(err.Error(), "45") {
		t.Fatalf("delivery past the quota: %v", err)
	}
	run([]struct {
		name, method, url, user, pass, body string
		want                                int
		has                                 string
	}{
		{"no quota", "POST", alice + "/quota", admin, pw, "none", http.StatusOK, `"quota":0`},
		{"disable", "POST", alice + "/disable", admin, pw, "", http.StatusOK, `"disabled":true`},
		{"disable the admin", "POST", base + "/api/accounts/" + admin + "/disable", admin, pw, "", http.StatusConflict, ""},
	})
	if imapLogin(t, ap.Addrs().IMAP, "alice@example.org", "n3w-Пароль") {
		t.Fatal("a disabled account logged in")
	}
	if err := sendMail(ap.Addrs().SMTP, "alice@example.org", msg); err == nil {
		t.Fatal("a disabled account took mail")
	}
	run([]struct {
		name, method, url, user, pass, body string
		want                                int
		has                                 string
	}{
		{"enable", "POST", alice + "/enable", admin, pw, "", http.StatusOK, `"disabled":false`},
		{"unknown account", "POST", base + "/api/accounts/nobody@example.org/enable", admin, pw, "", http.StatusNotFound, ""},
		{"delete without saying so", "DELETE", alice, admin, pw, "", http.StatusBadRequest, "delete-mail=yes"},
		{"delete the admin", "DELETE", base + "/api/accounts/" + admin + "?delete-mail=yes", admin, pw, "", http.StatusConflict, ""},
		{"delete the alias", "DELETE", base + "/api/aliases/info@example.org", admin, pw, "", http.StatusNoContent, ""},
		{"delete", "DELETE", alice + "?delete-mail=yes", admin, pw, "", http.StatusNoContent, ""},
	})
	code, body := call(t, "GET", base+"/api/accounts", admin, pw, "")
	var list []accountJSON
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil || len(list) != 1 || list[0].Name != admin {
		t.Fatalf("accounts after the delete: %d %q (%v)", code, body, err)
	}
}
