package main

import (
	"bytes"
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/postvault/postvault/firmware/appliance"
)

// serve's usage names every flag that appliance.ParseFlags defines in its
// synopsis (as --name, beside the single-dash list of PrintDefaults), and
// the defaults of the listen addresses and connection limits.
func TestServeUsageComplete(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := serveMain(stdio{strings.NewReader(""), &out, &errOut}, []string{"--help"}); err != nil {
		t.Fatalf("serve --help = %v, want nil", err)
	}
	usage := errOut.String()
	synopsis, _, ok := strings.Cut(usage, "\nFlags:\n")
	if !ok {
		t.Fatalf("usage has no Flags: section:\n%s", usage)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := appliance.ParseFlags(nil, fs); err != nil {
		t.Fatal(err)
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !regexp.MustCompile(`[[ ]--` + regexp.QuoteMeta(f.Name) + `[ \]|]`).MatchString(synopsis) {
			t.Errorf("serve usage synopsis does not name --%s:\n%s", f.Name, synopsis)
		}
	})
	if n < 20 {
		t.Errorf("appliance.ParseFlags defined %d flags, want the 20 or more serve takes", n)
	}
	for _, want := range []string{
		"https :443", "no https", "imap 127.0.0.1:10143",
		"imap 50, pop3 20, smtp 20, lmtp 100", "-1 means no limit",
	} {
		if !strings.Contains(synopsis, want) {
			t.Errorf("serve usage does not say %q:\n%s", want, synopsis)
		}
	}
}

// Bad usage prints why and the usage, once, and returns errUsage.
func TestServeBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		why  string
	}{
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"--dev", "d", "extra"}, `unexpected argument "extra"`},
		{[]string{"--dev", "d", "--members", "a,b"}, "--dev and --members exclude each other"},
	} {
		var out, errOut bytes.Buffer
		if err := serveMain(stdio{strings.NewReader(""), &out, &errOut}, tc.args); err != errUsage {
			t.Errorf("serve %q = %v, want errUsage", tc.args, err)
			continue
		}
		got := errOut.String()
		if !strings.Contains(got, tc.why) || strings.Count(got, "usage: postvault serve") != 1 || !strings.Contains(got, "[--https ADDR]") {
			t.Errorf("serve %q printed %q, want %q and the usage once", tc.args, got, tc.why)
		}
	}
}
