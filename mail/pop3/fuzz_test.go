package pop3

import (
	"strings"
	"testing"
)

// Real command lines, as sent by Thunderbird, Outlook, fetchmail, curl and
// Python's poplib, seed the fuzzers.
var seedCommands = []string{
	"CAPA", "STLS", "USER alice", "PASS secret", "PASS two words ", "AUTH", "AUTH PLAIN",
	"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH LOGIN", "STAT", "LIST", "LIST 1", "UIDL", "UIDL 12",
	"RETR 1", "TOP 1 0", "TOP 3 10", "DELE 2", "RSET", "NOOP", "QUIT", "APOP mrose c4c9334bac560ecc979e58001b3e22fb",
	"user alice@example.org", "list  1", "XTND XMIT", "", "RETR 4294967296", "TOP 1 -1",
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range seedCommands {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseCommand(line)
		if err != nil {
			return
		}
		if n := len(cmd.name); n < 3 || n > 4 || cmd.name != strings.ToUpper(cmd.name) {
			t.Fatalf("parseCommand(%q).name = %q, want 3-4 upper-case letters", line, cmd.name)
		}
		if !strings.EqualFold(line[:len(cmd.name)], cmd.name) {
			t.Fatalf("parseCommand(%q).name = %q, not the line's keyword", line, cmd.name)
		}
		for _, a := range cmd.fields() {
			if n, err := parseMsgNumber(a); err == nil && n < 1 {
				t.Fatalf("parseMsgNumber(%q) = %d, want >= 1", a, n)
			}
			if n, err := parseLineCount(a); err == nil && n < 0 {
				t.Fatalf("parseLineCount(%q) = %d, want >= 0", a, n)
			}
		}
	})
}

func FuzzParsePlain(f *testing.F) {
	for _, s := range []string{"AGFsaWNlAHNlY3JldA==", "YWxpY2UAYWxpY2UAc2VjcmV0", "=", "*", "!!!", "AA==", "AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, resp string) {
		authz, user, pass, err := parsePlain(resp)
		if err != nil {
			return
		}
		if user == "" || authz != "" && authz != user {
			t.Fatalf("parsePlain(%q) = %q %q, accepted", resp, authz, user)
		}
		if strings.ContainsRune(user+pass, 0) {
			t.Fatalf("parsePlain(%q): NUL in user or password", resp)
		}
	})
}

func TestParseMsgNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true}, {"42", 42, true}, {"0", 0, false}, {"-1", 0, false}, {"+1", 0, false},
		{"1x", 0, false}, {"", 0, false}, {"2147483648", 0, false}, {"2147483647", 2147483647, true},
	}
	for _, tt := range tests {
		got, err := parseMsgNumber(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseMsgNumber(%q) = %d, %v, want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
