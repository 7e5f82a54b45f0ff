package imap

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// part is one MIME entity of a message (RFC 2045, 2046): the message
// itself, a part of a multipart, or the message inside a message/rfc822
// part. Offsets are bytes from the start of the stored message, so that a
// section is a byte range streamed from the store, never a copy in memory.
type part struct {
	start     int64 // first byte of the header
	bodyStart int64 // first byte of the body, after the blank line
	end       int64 // just past the body; the line break before a boundary is not in it
	lines     int64 // lines in the body
	header    textproto.Header
	mediaType string // lower case; "text/plain" when absent (RFC 2045 section 5.2)
	params    map[string]string
	children  []*part // multipart/*
	msg       *part   // message/rfc822 and message/global: the enclosed message
}

// Limits of the structure scan: deeper nesting is read as an opaque leaf,
// header bytes past maxHeader are not parsed (they stay in the sections).
const (
	maxDepth  = 30
	maxParts  = 5000
	maxHeader = 256 << 10
)

// scanner reads a message line by line and keeps offsets and line counts.
type scanner struct {
	br      *bufio.Reader
	off     int64 // offset of the next unread byte
	atStart bool  // the next byte starts a line
	lineNo  int64 // lines started so far
	prevEOL int   // length of the line break that ended the previous line
	nparts  int

	peeked bool
	pl     line
}

type line struct {
	b        []byte
	off      int64
	start    bool // b starts a line
	eolAfter int  // length of b's own line break (0 if none or cut)
	eolPrev  int  // length of the line break before b
}

func newScanner(r io.Reader) *scanner {
	return &scanner{br: bufio.NewReaderSize(r, 32<<10), atStart: true}
}

// read returns the next line (or a piece of a line longer than the buffer).
func (sc *scanner) read() (line, bool) {
	if sc.peeked {
		sc.peeked = false
		if sc.pl.start {
			sc.lineNo++
		}
		return sc.pl, true
	}
	b, err := sc.br.ReadSlice('\n')
	if len(b) == 0 && err != nil {
		return line{}, false
	}
	l := line{b: b, off: sc.off, start: sc.atStart, eolPrev: sc.prevEOL}
	if l.start {
		sc.lineNo++
	}
	sc.off += int64(len(b))
	sc.atStart = err != bufio.ErrBufferFull
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		l.eolAfter = 2
	case bytes.HasSuffix(b, []byte("\n")):
		l.eolAfter = 1
	}
	sc.prevEOL = l.eolAfter
	return l, true
}

// unread pushes back the line just read.
func (sc *scanner) unread(l line) {
	sc.peeked = true
	sc.pl = l
	if l.start {
		sc.lineNo--
	}
}

// boundary reports which of bounds (innermost last) the line delimits, and
// whether it is a close delimiter (RFC 2046 section 5.1.1); -1 if none.
func boundary(l line, bounds []string) (int, bool) {
	if !l.start || len(bounds) == 0 || !bytes.HasPrefix(l.b, []byte("--")) {
		return -1, false
	}
	rest := l.b[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		tail := rest[len(b):]
		final := bytes.HasPrefix(tail, []byte("--"))
		if final {
			tail = tail[2:]
		}
		if len(bytes.TrimRight(tail, " \t\r\n")) == 0 {
			return i, final
		}
	}
	return -1, false
}

// parseMessage reads the structure of a whole message. Without enclosing
// boundaries the top entity runs to the end.
func parseMessage(r io.Reader) *part {
	return newScanner(r).entity(nil, 0, "")
}

// entity reads one entity: its header, then its body up to a line that
// delimits one of bounds (left unread) or the end. parentType is the media
// type of the enclosing multipart, for multipart/digest's default.
func (sc *scanner) entity(bounds []string, depth int, parentType string) *part {
	sc.nparts++
	p := &part{start: sc.off}
	if sc.peeked {
		p.start = sc.pl.off
	}
	sc.header(p, bounds)
	p.setType(parentType)
	startLine := sc.lineNo
	switch {
	case depth >= maxDepth || sc.nparts >= maxParts:
		sc.leaf(p, bounds)
	case strings.HasPrefix(p.mediaType, "multipart/") && p.params["boundary"] != "":
		sc.multipart(p, bounds, depth)
	case (p.mediaType == "message/rfc822" || p.mediaType == "message/global") && !encoded(p.header):
		p.msg = sc.entity(bounds, depth+1, "")
		p.end = p.msg.end
	default:
		sc.leaf(p, bounds)
	}
	p.lines = sc.lineNo - startLine
	return p
}

// header reads an entity's header, up to the blank line or a line that
// delimits one of bounds (left unread), and sets bodyStart.
func (sc *scanner) header(p *part, bounds []string) {
	var hdr bytes.Buffer
	blank := false
	for {
		l, ok := sc.read()
		if !ok {
			break
		}
		if k, _ := boundary(l, bounds); k >= 0 {
			sc.unread(l)
			break
		}
		if hdr.Len()+len(l.b) <= maxHeader {
			hdr.Write(l.b)
		}
		if l.start && (string(l.b) == "\r\n" || string(l.b) == "\n") {
			blank = true
			break
		}
	}
	p.bodyStart = sc.off
	if sc.peeked {
		p.bodyStart = sc.pl.off
	}
	if !blank {
		hdr.WriteString("\r\n")
	}
	p.header, _ = textproto.ReadHeader(bufio.NewReader(&hdr))
}

// parseTop reads only the header of a message of size bytes: enough for
// ENVELOPE and the top-level HEADER, TEXT and whole-message sections,
// without reading the body.
func parseTop(r io.Reader, size int64) *part {
	p := &part{}
	newScanner(r).header(p, nil)
	p.end = size
	p.setType("")
	return p
}

// setType fills mediaType and params from Content-Type.
func (p *part) setType(parentType string) {
	h := gomessage.Header{Header: p.header}
	mt, params, err := h.ContentType()
	switch {
	case !p.header.Has("Content-Type") && parentType == "multipart/digest":
		mt, params = "message/rfc822", nil
	case err != nil && mt == "" || !strings.Contains(mt, "/"):
		mt, params = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	p.mediaType = strings.ToLower(mt)
	p.params = params
}

// encoded reports a content-transfer-encoding that hides the body's lines.
func encoded(h textproto.Header) bool {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64", "quoted-printable":
		return true
	}
	return false
}

// leaf reads an opaque body.
func (sc *scanner) leaf(p *part, bounds []string) {
	for {
		l, ok := sc.read()
		if !ok {
			p.end = sc.off
			return
		}
		if k, _ := boundary(l, bounds); k >= 0 {
			sc.unread(l)
			p.end = max(p.bodyStart, l.off-int64(l.eolPrev))
			return
		}
	}
}

// multipart reads a multipart body: preamble, parts, epilogue.
func (sc *scanner) multipart(p *part, bounds []string, depth int) {
	inner := append(bounds[:len(bounds):len(bounds)], p.params["boundary"])
	own := len(inner) - 1
	closed := false
	for {
		l, ok := sc.read()
		if !ok {
			p.end = sc.off
			return
		}
		k, final := boundary(l, inner)
		switch {
		case k < 0:
			continue // preamble, epilogue
		case k < own:
			sc.unread(l)
			// The line break before the boundary is the boundary's; when
			// the last part is empty it is also the end of the previous
			// delimiter line, which the part already starts after.
			p.end = max(p.bodyStart, l.off-int64(l.eolPrev))
			if n := len(p.children); n > 0 {
				p.end = max(p.end, p.children[n-1].end)
			}
			return
		case final || closed:
			closed = true
		default:
			p.children = append(p.children, sc.entity(inner, depth+1, p.mediaType))
		}
	}
}
