package pop3_test

import (
	"encoding/base64"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthPlain(t *testing.T) {
	tests := []struct {
		name  string
		lines []string // sent in turn; all but the last expect "+ "
		want  string
	}{
		{"initial response", []string{"AUTH PLAIN " + b64("\x00alice\x00secret")}, "+OK maildrop"},
		{"lower-case mechanism", []string{"auth plain " + b64("\x00alice\x00secret")}, "+OK maildrop"},
		{"authzid equal to user", []string{"AUTH PLAIN " + b64("alice\x00alice\x00secret")}, "+OK maildrop"},
		{"continuation", []string{"AUTH PLAIN", b64("\x00alice\x00secret")}, "+OK maildrop"},
		{"wrong password", []string{"AUTH PLAIN " + b64("\x00alice\x00nope")}, "-ERR [AUTH] invalid user name or password"},
		{"cancelled", []string{"AUTH PLAIN", "*"}, "-ERR authentication cancelled"},
		{"not base64", []string{"AUTH PLAIN !!!"}, "-ERR [AUTH] authentication response is not base64"},
		{"no NULs", []string{"AUTH PLAIN " + b64("alice")}, "-ERR [AUTH] malformed PLAIN response"},
		{"empty response", []string{"AUTH PLAIN ="}, "-ERR [AUTH] malformed PLAIN response"},
		{"proxy authzid", []string{"AUTH PLAIN " + b64("bob\x00alice\x00secret")}, "-ERR [AUTH] authorization identity"},
		{"other mechanism", []string{"AUTH CRAM-MD5"}, "-ERR unsupported authentication mechanism"},
	}
	e := newEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			for i, l := range tt.lines {
				if i < len(tt.lines)-1 {
					c.cmd(l, "+ ")
				} else {
					c.cmd(l, tt.want)
				}
			}
			c.cmd("QUIT", "+OK")
		})
	}
}

func TestAuthList(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t)
	c.cmd("AUTH", "+OK")
	if got := c.multi(); len(got) != 1 || got[0] != "PLAIN" {
		t.Fatalf("AUTH = %q, want [PLAIN]", got)
	}
}
