package imap

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// source is the bytes of one FETCH section: a range of the stored message
// (streamed), or a few bytes built in memory (header field subsets).
type source struct {
	off, n int64
	mem    []byte
	inMem  bool
}

func rangeOf(from, to int64) source { return source{off: from, n: max(0, to-from)} }

// size is the section's length in bytes.
func (s source) size() int64 {
	if s.inMem {
		return int64(len(s.mem))
	}
	return s.n
}

// partial narrows s to <offset.size> (RFC 9051 section 6.4.5).
func (s source) partial(p *imap.SectionPartial) source {
	if p == nil {
		return s
	}
	if s.inMem {
		b := s.mem[min(int64(len(s.mem)), p.Offset):]
		s.mem = b[:min(int64(len(b)), p.Size)]
		return s
	}
	skip := min(s.n, p.Offset)
	return source{off: s.off + skip, n: min(s.n-skip, p.Size)}
}

// reader streams s from the message body.
func (s source) reader(body io.ReaderAt) io.Reader {
	if s.inMem {
		return bytes.NewReader(s.mem)
	}
	return io.NewSectionReader(body, s.off, s.n)
}

// resolve finds the entity a section part number names (RFC 9051 section
// 6.4.5): in a multipart the n-th child; in a message/rfc822 part, the
// parts of the enclosed message; a non-multipart message (or enclosed
// message) has only part 1, itself. ok is false for a part that does not
// exist.
func resolve(root *part, path []int) (*part, bool) {
	node := root
	for i, n := range path {
		ent := node
		if i > 0 && node.msg != nil {
			ent = node.msg
		}
		if ent.children != nil {
			if n < 1 || n > len(ent.children) {
				return nil, false
			}
			node = ent.children[n-1]
			continue
		}
		if n != 1 {
			return nil, false
		}
		node = ent
	}
	return node, true
}

// bodySection computes the bytes of a BODY[...] section. msg reads header
// bytes for HEADER.FIELDS.
func bodySection(root *part, body io.ReaderAt, sec *imap.FetchItemBodySection) (source, error) {
	node, ok := resolve(root, sec.Part)
	if !ok {
		return source{inMem: true}, nil
	}
	// The entity whose header and text HEADER and TEXT mean.
	msg := node
	if len(sec.Part) > 0 {
		msg = node.msg
	}
	var src source
	switch sec.Specifier {
	case imap.PartSpecifierNone:
		if len(sec.Part) == 0 {
			src = rangeOf(0, root.end)
		} else {
			src = rangeOf(node.bodyStart, node.end)
		}
	case imap.PartSpecifierMIME:
		if len(sec.Part) == 0 {
			return source{}, &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "MIME needs a part number"}
		}
		src = rangeOf(node.start, node.bodyStart)
	case imap.PartSpecifierText:
		if msg == nil {
			return source{inMem: true}, nil
		}
		src = rangeOf(msg.bodyStart, msg.end)
	case imap.PartSpecifierHeader:
		if msg == nil {
			return source{inMem: true}, nil
		}
		src = rangeOf(msg.start, msg.bodyStart)
		if len(sec.HeaderFields) > 0 || len(sec.HeaderFieldsNot) > 0 {
			raw := make([]byte, min(src.n, maxHeader))
			if _, err := body.ReadAt(raw, src.off); err != nil && err != io.EOF {
				return source{}, err
			}
			src = source{inMem: true, mem: filterHeader(raw, sec.HeaderFields, sec.HeaderFieldsNot)}
		}
	}
	return src.partial(sec.Partial), nil
}

// filterHeader keeps the fields named in keep (or all but those in drop),
// byte for byte as stored, and ends them with the blank line (RFC 9051
// section 6.4.5, HEADER.FIELDS and HEADER.FIELDS.NOT).
func filterHeader(raw []byte, keep, drop []string) []byte {
	in := func(name string, l []string) bool {
		for _, k := range l {
			if strings.EqualFold(strings.TrimSpace(k), name) {
				return true
			}
		}
		return false
	}
	var out bytes.Buffer
	taking := false
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		ln := raw
		if i >= 0 {
			ln = raw[:i+1]
		}
		raw = raw[len(ln):]
		if len(bytes.TrimRight(ln, "\r\n")) == 0 {
			break // the blank line
		}
		if ln[0] != ' ' && ln[0] != '\t' {
			name, _, _ := bytes.Cut(ln, []byte(":"))
			n := strings.TrimSpace(string(name))
			if len(keep) > 0 {
				taking = in(n, keep)
			} else {
				taking = !in(n, drop)
			}
		}
		if taking {
			out.Write(ln)
			if !bytes.HasSuffix(ln, []byte("\n")) {
				out.WriteString("\r\n")
			}
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// decoder returns a reader of the decoded content of a body encoded with
// cte (RFC 2045 section 6), or ok false for an encoding we do not know
// (BINARY answers [UNKNOWN-CTE], RFC 3516 section 4.3).
func decoder(cte string, r io.Reader) (io.Reader, bool) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return r, true
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Clean{r: r}), true
	case "quoted-printable":
		return quotedprintable.NewReader(r), true
	}
	return nil, false
}

// base64Clean drops what is not base64 alphabet (line breaks, spaces, stray
// characters), which RFC 2045 section 6.8 says decoders must ignore.
type base64Clean struct{ r io.Reader }

func (b *base64Clean) Read(p []byte) (int, error) {
	for {
		n, err := b.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// errUnknownCTE is the BINARY answer for an unknown encoding.
var errUnknownCTE = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE, Text: "Unknown Content-Transfer-Encoding"}

// binarySection returns a function that streams the decoded content of a
// BINARY[part] section (RFC 3516) and its size. The content is decoded
// twice, once to count and once to send, so that nothing is held in memory.
// BINARY[] of a whole message is the message as stored.
func binarySection(root *part, body io.ReaderAt, path []int) (open func() io.Reader, size int64, err error) {
	node, ok := resolve(root, path)
	if !ok {
		return func() io.Reader { return strings.NewReader("") }, 0, nil
	}
	if len(path) == 0 || node.children != nil || node.msg != nil {
		src := rangeOf(node.bodyStart, node.end)
		if len(path) == 0 {
			src = rangeOf(0, root.end)
		}
		return func() io.Reader { return src.reader(body) }, src.size(), nil
	}
	cte := node.header.Get("Content-Transfer-Encoding")
	if _, ok := decoder(cte, nil); !ok {
		return nil, 0, errUnknownCTE
	}
	src := rangeOf(node.bodyStart, node.end)
	open = func() io.Reader {
		r, _ := decoder(cte, src.reader(body))
		return r
	}
	n, err := io.Copy(io.Discard, open())
	if err != nil {
		return nil, 0, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE, Text: "Content cannot be decoded: " + err.Error()}
	}
	return open, n, nil
}
