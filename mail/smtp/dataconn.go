package smtp

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Reading DATA in blocks.
//
// go-smtp hands Session.Data a reader that takes the message from its
// bufio.Reader one byte at a time (ReadByte and a state machine per byte,
// as net/textproto's DotReader does): at 1 MiB per message that was 11% of
// the appliance's CPU during deliveries. The message is read here instead,
// in blocks, from the connection itself:
//
//   - lineConn is the net.Conn go-smtp reads from. It keeps its own 32 KiB
//     buffer and gives go-smtp at most one line per Read (up to and
//     including the first LF). go-smtp reads commands as lines, so once it
//     has read the DATA line its own buffer is empty: every byte after that
//     line is still in lineConn's buffer.
//   - dotReader reads the message from that buffer in blocks, each copied
//     whole up to the next line that starts with a dot (the only place
//     where bytes change): "." CRLF as a line ends the message, a leading
//     "." of any other line is removed (RFC 5321 section 4.5.2), at most
//     MaxMessageBytes bytes of message are passed on (exactly that many are
//     accepted; one more is 552), and a client silent for Options.Timeout
//     is dropped.
//   - When Data returns, the rest of an unread or too-large message is
//     skipped to its end, and lineConn gives go-smtp the end line "."
//     CRLF, so that go-smtp's own reader ends at once and goes on with the
//     next command.
//
// After STARTTLS the connection go-smtp reads is the TLS one, above
// lineConn; lineConn then passes bytes through unchanged and DATA is read
// by go-smtp's reader (the same answer, more CPU). Bytes a client sends
// after STARTTLS before the handshake (a command injection, RFC 3207
// section 4) go to the TLS handshake, which fails on them.
//
// One difference from go-smtp's reader on malformed input: "." CR followed
// by anything but LF at the start of a line loses only the dot here; go-smtp
// drops the CR as well.

// lineConn is a connection as go-smtp sees it; see above.
type lineConn struct {
	net.Conn
	release func() // the slot in limits.Conns, released at Close
	br      *bufio.Reader
	timeout time.Duration // read idle timeout while reading DATA

	// The fields below belong to whichever goroutine reads the connection:
	// go-smtp's, or the session's during DATA (go-smtp waits meanwhile).
	passthrough bool   // a STARTTLS was read: bytes go through unchanged
	inject      []byte // given to go-smtp before any byte from br
	line        []byte // the start of the current line, up to 16 bytes
}

// dataBufferSize is lineConn's read buffer: the block size of DATA. It is
// held by every connection, idle ones too; 32 KiB read DATA at the cost of
// io.Copy in BenchmarkDATA (16 KiB: 1.3-1.6x; 64 KiB: no faster).
const dataBufferSize = 32 << 10

func newLineConn(nc net.Conn, release func(), timeout time.Duration) *lineConn {
	return &lineConn{Conn: nc, release: release, br: bufio.NewReaderSize(nc, dataBufferSize), timeout: timeout}
}

// Read gives go-smtp at most one line.
func (c *lineConn) Read(p []byte) (int, error) {
	if len(c.inject) > 0 {
		n := copy(p, c.inject)
		c.inject = c.inject[n:]
		return n, nil
	}
	if c.passthrough {
		return c.br.Read(p)
	}
	if c.br.Buffered() == 0 {
		if _, err := c.br.Peek(1); err != nil {
			return 0, err
		}
	}
	b, _ := c.br.Peek(c.br.Buffered())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	n := copy(p, b)
	c.br.Discard(n)
	c.noteLine(p[:n])
	return n, nil
}

// noteLine watches the command lines for STARTTLS, after which the bytes
// are TLS records, not lines.
func (c *lineConn) noteLine(b []byte) {
	if room := 16 - len(c.line); room > 0 {
		c.line = append(c.line, b[:min(room, len(b))]...)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return
	}
	if bytes.EqualFold(bytes.TrimSpace(c.line), []byte("STARTTLS")) {
		c.passthrough = true
	}
	c.line = c.line[:0]
}

func (c *lineConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// dataLine is the end-of-data line, given to go-smtp after a message was
// read here.
var dataLine = []byte(".\r\n")

// crlfDot is a line that starts with a dot: stuffed, or the end line.
var crlfDot = []byte("\r\n.")

// dotReader reads one DATA message from a lineConn; see above.
type dotReader struct {
	c         *lineConn
	max       int64 // message bytes still allowed
	lineStart bool  // the next byte starts a line
	lastCR    bool  // the last byte passed on was CR
	done      bool  // the end line was read
	err       error // sticky: ErrDataTooLarge or the connection's error
}

// messageReader returns the reader of the message go-smtp just announced
// with r, and finish, which Data must call before it returns. The block
// reader is used when the session reads a lineConn in line mode; otherwise
// (after STARTTLS, or on a connection go-smtp did not get from Serve) it is
// r itself.
func (ss *session) messageReader(r io.Reader) (io.Reader, func()) {
	c, ok := ss.c.Conn().(*lineConn)
	if !ok || c.passthrough {
		return r, func() {}
	}
	d := &dotReader{c: c, max: ss.s.opts.MaxMessageBytes, lineStart: true}
	return d, d.finish
}

func (d *dotReader) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	if d.err != nil {
		return 0, d.err
	}
	n := 0
	for n < len(p) && !d.done {
		if d.c.br.Buffered() == 0 {
			if n > 0 {
				break // give what we have rather than wait
			}
			if err := d.fill(1); err != nil {
				d.err = err
				return 0, err
			}
		}
		if d.lineStart {
			if err := d.startLine(); err != nil {
				return n, err
			}
			continue
		}
		if d.max <= 0 {
			d.err = gosmtp.ErrDataTooLarge
			return n, d.err
		}
		b, _ := d.c.br.Peek(d.c.br.Buffered())
		b = b[:min(int64(len(b)), int64(len(p)-n), d.max)]
		// Pass on everything up to the next line that starts with a dot,
		// the only place where bytes change (or the message ends).
		if d.lastCR && len(b) >= 2 && b[0] == '\n' && b[1] == '.' {
			b = b[:1] // the CR came in the previous block
		} else if i := bytes.Index(b, crlfDot); i >= 0 {
			b = b[:i+2]
		}
		k := copy(p[n:], b)
		if b[k-1] == '\n' {
			d.lineStart = (k >= 2 && b[k-2] == '\r') || (k == 1 && d.lastCR)
		}
		d.lastCR = b[k-1] == '\r'
		d.c.br.Discard(k)
		d.max -= int64(k)
		n += k
	}
	if d.done {
		return n, io.EOF
	}
	return n, nil
}

// startLine handles the start of a line (at least one byte is buffered):
// the end line, or a stuffed dot, which it drops.
func (d *dotReader) startLine() error {
	b, _ := d.c.br.Peek(d.c.br.Buffered())
	if b[0] != '.' {
		d.lineStart = false
		return nil
	}
	if len(b) < len(dataLine) {
		err := d.fill(len(dataLine))
		b, _ = d.c.br.Peek(d.c.br.Buffered())
		if err != nil && bytes.HasPrefix(dataLine, b) {
			d.err = err // the connection ended inside what may be the end line
			return err
		}
	}
	if bytes.HasPrefix(b, dataLine) {
		d.c.br.Discard(len(dataLine))
		d.done = true
		return nil
	}
	d.c.br.Discard(1) // a stuffed dot
	d.lineStart, d.lastCR = false, false
	return nil
}

// fill waits until n bytes are buffered, at most the idle timeout.
func (d *dotReader) fill(n int) error {
	if d.c.timeout > 0 {
		d.c.SetReadDeadline(time.Now().Add(d.c.timeout))
	}
	if _, err := d.c.br.Peek(n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// finish skips what is left of the message (unread, or past the limit) to
// its end line and hands go-smtp that end line. After a connection error
// there is nothing to skip: go-smtp sees the same error.
func (d *dotReader) finish() {
	if !d.done && (d.err == nil || d.err == gosmtp.ErrDataTooLarge) {
		d.err, d.max = nil, 1<<62
		buf := make([]byte, 4096)
		for d.err == nil && !d.done {
			d.Read(buf)
		}
	}
	if d.done {
		d.c.inject = dataLine
		return
	}
	// The connection failed inside the message: what came of it is no
	// command; go-smtp meets the connection's error next.
	d.c.br.Discard(d.c.br.Buffered())
}
