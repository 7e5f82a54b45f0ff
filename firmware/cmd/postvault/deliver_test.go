package main

import (
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/raid"
)

// deliver's exit codes are what Postfix's pipe and local delivery act on:
// 0 stored, 67 (EX_NOUSER) bounce, 75 (EX_TEMPFAIL) try again later.
func TestDeliverExitCodes(t *testing.T) {
	m := storeArray(t)
	if code, _, e := runCmd(t, "pw\n", append([]string{"user", "add", "carol@example.org"}, m...)...); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	msg := "Subject: hi\r\n\r\nhello\r\n"
	tests := []struct {
		name string
		to   string
		lock bool
		want int
	}{
		{"stored", "carol@example.org", false, 0},
		{"unknown user", "nobody@example.org", false, exNoUser},
		{"domain not hosted", "carol@example.net", false, exNoUser},
		{"members locked by a running serve", "carol@example.org", true, exTempFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.lock {
				f, err := raid.OpenFile(m[0], false)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
			}
			code, _, e := runCmd(t, msg, append([]string{"deliver", "--to", tt.to}, m...)...)
			if code != tt.want {
				t.Errorf("deliver --to %s: exit %d (%s), want %d", tt.to, code, e, tt.want)
			}
		})
	}
}

// A mistyped command line in the MTA's configuration defers the mail (75)
// instead of bouncing it: Postfix bounces on any code but EX_TEMPFAIL.
func TestDeliverBadUsageDefers(t *testing.T) {
	m := storeArray(t)
	tests := []struct {
		name string
		args []string
	}{
		{"no --to", m},
		{"no members", []string{"--to", "carol@example.org"}},
		{"unknown flag", append([]string{"--recipient", "carol@example.org"}, m...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, e := runCmd(t, "Subject: x\r\n\r\nx\r\n", append([]string{"deliver"}, tt.args...)...)
			if code != exTempFail || out != "" || !strings.Contains(e, "usage: postvault deliver") {
				t.Errorf("deliver %v = %d, %q, stderr %q; want %d with the usage", tt.args, code, out, e, exTempFail)
			}
		})
	}
}
