package smtp

import (
	"strings"
	"testing"
	"time"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"client.example.com", 255, "client.example.com"},
		{"evil\r\nBcc: x@y", 255, "evil??Bcc: x@y"},
		{"a>b<c(d)e;f", 255, "a?b?c?d?e?f"},
		{"", 255, "unknown"},
		{"почта.рф", 255, "почта.рф"},
		{"почта", 5, "по"}, // cut at a rune boundary
	}
	for _, tt := range tests {
		if got := clean(tt.in, tt.max); got != tt.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// checkTrace verifies that h is well-formed header fields: lines end in
// CRLF, none is empty, every line either starts a known field or is a
// continuation (starts with a tab), and no field appears twice.
func checkTrace(t *testing.T, h string) {
	t.Helper()
	if !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("trace %q does not end in CRLF", h)
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		if l == "" || strings.ContainsAny(l, "\r\n") {
			t.Fatalf("trace %q has a bad line %q", h, l)
		}
		if l[0] == '\t' {
			continue
		}
		name, _, ok := strings.Cut(l, ": ")
		if !ok || name != "Return-Path" && name != "Delivered-To" && name != "Received" || seen[name] {
			t.Fatalf("trace %q has an unexpected field line %q", h, l)
		}
		seen[name] = true
	}
}

func FuzzTraceHeader(f *testing.F) {
	f.Add("alice@example.org", "bob@example.org", "mail.example.com", "192.0.2.1")
	f.Add("", "info@example.org", "[192.0.2.1]", "2001:db8::1")
	f.Add("x@y\r\nBcc: z", "a@b\nX: y", "h\r\n\tfoo", "1.2.3.4")
	f.Add("иван@почта.рф", "", "почта.рф", "")
	f.Fuzz(func(t *testing.T, from, rcpt, helo, ip string) {
		h := traceHeader(traceInfo{from: from, rcpt: rcpt, helo: helo, remoteIP: ip,
			hostname: "mx.example.org", protocol: "ESMTP", id: "ABC", date: time.Unix(0, 0).UTC()})
		checkTrace(t, h)
	})
}
