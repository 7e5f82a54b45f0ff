package pop3

import (
	"bufio"
	"bytes"
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

// dotStuffReference is the multi-line encoding of msg, byte by byte.
func dotStuffReference(msg []byte) []byte {
	var out []byte
	lineStart, afterCR := true, false
	for _, c := range msg {
		if lineStart && c == '.' {
			out = append(out, '.')
		}
		if c == '\n' && !afterCR {
			out = append(out, '\r')
		}
		out = append(out, c)
		lineStart, afterCR = c == '\n', c == '\r'
	}
	switch {
	case lineStart:
	case afterCR:
		out = append(out, '\n')
	default:
		out = append(out, '\r', '\n')
	}
	return append(out, ".\r\n"...)
}

func FuzzDotWriter(f *testing.F) {
	f.Add([]byte("Subject: a\r\n\r\n.\r\n..x\r\nend"), uint8(3))
	f.Add([]byte("a\nb\r\n.\n\r\r\n.\r"), uint8(1))
	f.Add([]byte("Тема: привет\r\n\r\n.точка\r\n"), uint8(7))
	f.Fuzz(func(t *testing.T, msg []byte, step uint8) {
		var b bytes.Buffer
		bw := bufio.NewWriterSize(&b, 16)
		d := newDotWriter(bw)
		s := int(step%16) + 1
		for i := 0; i < len(msg); i += s {
			d.Write(msg[i:min(i+s, len(msg))])
		}
		d.Close()
		bw.Flush()
		if want := dotStuffReference(msg); !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("dotWriter(%q, pieces of %d) = %q, want %q", msg, s, b.Bytes(), want)
		}
	})
}
