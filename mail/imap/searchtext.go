package imap

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// fold is the case folding of SEARCH's substring matches: Unicode lower
// case, so that "ПРИВЕТ" finds "привет".
func fold(s string) string { return strings.ToLower(s) }

// textContains reports whether the decoded text of any text part of the
// message (inside enclosed messages too) contains needle, case-folded.
// Each part is streamed: transfer encoding, then charset, then folding, in
// chunks, so memory does not grow with the message.
func textContains(root *part, body io.ReaderAt, needle string) (bool, error) {
	n := fold(needle)
	if n == "" {
		return true, nil
	}
	var walk func(p *part) (bool, error)
	walk = func(p *part) (bool, error) {
		for _, c := range p.children {
			if ok, err := walk(c); ok || err != nil {
				return ok, err
			}
		}
		if p.msg != nil {
			return walk(p.msg)
		}
		if p.children != nil || !strings.HasPrefix(p.mediaType, "text/") {
			return false, nil
		}
		return partContains(p, body, n)
	}
	return walk(root)
}

// partContains searches one text part for the folded needle.
func partContains(p *part, body io.ReaderAt, needle string) (bool, error) {
	raw := &errReader{r: io.NewSectionReader(body, p.bodyStart, p.end-p.bodyStart)}
	r, ok := decoder(p.header.Get("Content-Transfer-Encoding"), raw)
	if !ok {
		r = raw
	}
	if cs := strings.ToLower(p.params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	m := newMatcher(needle)
	_, err := io.Copy(m, r)
	if m.found {
		return true, nil
	}
	// A body that does not decode (bad base64, say) simply has no more
	// text to search; an error reading the store is reported.
	_ = err
	return false, raw.err
}

// errReader remembers the error of the reader under the decoders.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// errFound stops the copy into a matcher once the needle is found.
var errFound = errorString("found")

type errorString string

func (e errorString) Error() string { return string(e) }

// matcher is a writer that looks for a folded needle in UTF-8 text written
// to it in pieces of any size. It keeps the bytes of a rune cut by a piece
// boundary and the last len(needle)-1 folded bytes, so a match across
// pieces is found.
type matcher struct {
	needle string
	carry  []byte // incomplete rune from the last write
	tail   string // end of the folded text so far
	found  bool
}

func newMatcher(needle string) *matcher { return &matcher{needle: needle} }

func (m *matcher) Write(p []byte) (int, error) {
	if m.found {
		return 0, errFound
	}
	n := len(p)
	b := append(m.carry, p...)
	cut := len(b)
	// Keep an incomplete trailing rune for the next write.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	text := m.tail + fold(string(b[:cut]))
	m.carry = append(m.carry[:0], b[cut:]...)
	if strings.Contains(text, m.needle) {
		m.found = true
		return n, errFound
	}
	keep := len(m.needle) - 1
	if len(text) > keep {
		text = text[len(text)-keep:]
	}
	m.tail = text
	return n, nil
}
