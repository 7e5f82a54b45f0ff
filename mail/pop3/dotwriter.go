package pop3

import (
	"bufio"
	"bytes"
)

// dotWriter writes a multi-line response body (RFC 1939 section 3): a line
// that begins with "." gets another "." in front, every LF not preceded by
// CR is sent as CRLF, and Close ends an unfinished last line and sends the
// terminating ".". It copies runs of bytes between line ends in bulk.
type dotWriter struct {
	w         *bufio.Writer
	lineStart bool // the next byte begins a line
	afterCR   bool // the last byte written was CR
}

func newDotWriter(w *bufio.Writer) *dotWriter {
	return &dotWriter{w: w, lineStart: true}
}

func (d *dotWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.lineStart && p[0] == '.' {
			d.w.WriteByte('.')
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.w.Write(p)
			d.lineStart, d.afterCR = false, p[len(p)-1] == '\r'
			break
		}
		d.w.Write(p[:i])
		if i > 0 {
			d.afterCR = p[i-1] == '\r'
		}
		if !d.afterCR {
			d.w.WriteByte('\r')
		}
		if err := d.w.WriteByte('\n'); err != nil {
			return 0, err
		}
		d.lineStart, d.afterCR = true, false
		p = p[i+1:]
	}
	return n, nil
}

// Close ends the last line if it is unfinished and writes the terminator.
func (d *dotWriter) Close() error {
	switch {
	case d.lineStart:
	case d.afterCR:
		d.w.WriteByte('\n')
	default:
		d.w.WriteString("\r\n")
	}
	d.lineStart, d.afterCR = true, false
	_, err := d.w.WriteString(".\r\n")
	return err
}
