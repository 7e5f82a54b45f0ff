package imap

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// seedMessages are real messages from testdata/msgs.
func seedMessages(f *testing.F) [][]byte {
	paths, _ := filepath.Glob("testdata/msgs/*.eml")
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		f.Fatal("no seed messages in testdata/msgs")
	}
	return out
}

// checkAddresses states what ENVELOPE needs of an address list: groups
// open and close in pairs and do not nest, and every mailbox has a host
// (a NIL host would read as a group marker).
func checkAddresses(t *testing.T, in string, l []imap.Address) {
	open := false
	for _, a := range l {
		switch {
		case a.Host == "" && a.Mailbox != "":
			if open {
				t.Fatalf("%q: nested group in %+v", in, l)
			}
			open = true
		case a.Host == "" && a.Mailbox == "":
			if !open {
				t.Fatalf("%q: group end without start in %+v", in, l)
			}
			open = false
		case a.Mailbox == "":
			t.Fatalf("%q: address without mailbox in %+v", in, l)
		}
	}
	if open {
		t.Fatalf("%q: group not closed in %+v", in, l)
	}
}

func FuzzAddressList(f *testing.F) {
	for _, s := range []string{
		`"Doe, John" <john.doe@example.com>, Mary <mary@[192.0.2.1]>`,
		`A Group:a@example.org,"Quoted, Name" <b@example.org>;,c@example.org`,
		`undisclosed-recipients:;`,
		`=?utf-8?b?0JDQu9C40YHQsA==?= <alice@example.org>`,
		`"=?windows-1251?b?yOLg7Q==?=" <ivan@example.ru> (Иван)`,
		`<@route.example:reply@example.com>`,
		`Friends: bob@example.org, "Carol C." <carol@example.net>;, dave@example.com`,
		`no-domain, "x" <>, (comment only), ;;, :,`,
		`Группа: иван@пример.рф;`,
	} {
		f.Add(s)
	}
	for _, m := range seedMessages(f) {
		for _, l := range strings.Split(string(m), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && (k == "From" || k == "To" || k == "Cc") {
				f.Add(v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAddresses(t, s, parseAddressList(s, wordDecoder))
	})
}

// checkPart states the invariants of a scanned structure: ranges nest
// inside the message and inside their parents, in order.
func checkPart(t *testing.T, p *part, lo, hi int64) {
	if !(lo <= p.start && p.start <= p.bodyStart && p.bodyStart <= p.end && p.end <= hi) {
		t.Fatalf("part %d..%d..%d outside %d..%d", p.start, p.bodyStart, p.end, lo, hi)
	}
	prev := p.bodyStart
	for _, c := range p.children {
		checkPart(t, c, prev, p.end)
		prev = c.end
	}
	if p.msg != nil {
		checkPart(t, p.msg, p.bodyStart, p.end)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
		f.Add(bytes.ReplaceAll(m, []byte("\n"), []byte("\r\n")))
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		root := parseMessage(bytes.NewReader(m))
		if root.end != int64(len(m)) {
			t.Fatalf("message of %d bytes ends at %d", len(m), root.end)
		}
		checkPart(t, root, 0, int64(len(m)))
		r := bytes.NewReader(m)
		for _, path := range [][]int{nil, {1}, {2}, {1, 1}, {2, 1}, {3, 1, 2}} {
			for _, spec := range []imap.PartSpecifier{imap.PartSpecifierNone, imap.PartSpecifierHeader, imap.PartSpecifierText, imap.PartSpecifierMIME} {
				sec := &imap.FetchItemBodySection{Part: path, Specifier: spec, Partial: &imap.SectionPartial{Offset: 3, Size: 100}}
				if spec == imap.PartSpecifierMIME && len(path) == 0 {
					continue
				}
				src, err := bodySection(root, r, sec)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := io.Copy(io.Discard, src.reader(r)); n != src.size() {
					t.Fatalf("section %v %s: read %d bytes of %d", path, spec, n, src.size())
				}
			}
			if open, size, err := binarySection(root, r, path); err == nil {
				if n, _ := io.Copy(io.Discard, open()); n != size {
					t.Fatalf("binary %v: %d bytes, said %d", path, n, size)
				}
			}
		}
		bodyStructure(root)
		envelope(root.header)
		textContains(root, r, "привет")
	})
}

func FuzzMatcher(f *testing.F) {
	f.Add("Привет, мир! Hello", "МИР", 3)
	f.Add("Straße café ПРИВЕТ", "café", 1)
	f.Add("aaaaab", "aab", 2)
	f.Add("日本語のテキスト", "テキ", 5)
	f.Fuzz(func(t *testing.T, hay, needle string, chunk int) {
		if !utf8.ValidString(hay) || !utf8.ValidString(needle) || needle == "" {
			return
		}
		if chunk <= 0 || chunk > 64 {
			chunk = 1 + chunk&63
		}
		m := newMatcher(fold(needle))
		b := []byte(hay)
		for len(b) > 0 {
			n := min(chunk, len(b))
			if _, err := m.Write(b[:n]); err != nil {
				break
			}
			b = b[n:]
		}
		if want := strings.Contains(fold(hay), fold(needle)); m.found != want {
			t.Fatalf("matcher(%q in %q, chunks of %d) = %v, want %v", needle, hay, chunk, m.found, want)
		}
	})
}

func FuzzFilterHeader(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m, "Subject")
	}
	f.Fuzz(func(t *testing.T, raw []byte, field string) {
		out := filterHeader(raw, []string{field}, nil)
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("filtered header %q does not end with the blank line", out)
		}
		all := filterHeader(raw, nil, []string{"x-none-such"})
		if len(out) > len(all) {
			t.Fatalf("subset %q longer than the whole %q", out, all)
		}
	})
}

// FuzzParseTop: the header-only scan agrees with the full scan on the
// top header's extent.
func FuzzParseTop(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		top := parseTop(bytes.NewReader(m), int64(len(m)))
		full := parseMessage(bytes.NewReader(m))
		if top.bodyStart != full.bodyStart || top.end != full.end || top.mediaType != full.mediaType {
			t.Fatalf("top scan %d..%d %s, full scan %d..%d %s", top.bodyStart, top.end, top.mediaType, full.bodyStart, full.end, full.mediaType)
		}
	})
}
