package pop3

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// sendMessage streams message i to the client as a multi-line response
// (RFC 1939 section 3): "+OK", the message dot-stuffed with CRLF line ends,
// then ".". bodyLines < 0 sends it whole (RETR); otherwise the header, the
// blank line and at most bodyLines lines of the body (TOP).
func (c *conn) sendMessage(i int, bodyLines int64) error {
	m := c.msgs[i]
	r, err := c.drop.Open(c.s.ctx, m.UID)
	if errors.Is(err, ErrNoMessage) {
		return &Error{Text: fmt.Sprintf("message %d was removed by another session", i+1)}
	}
	if err != nil {
		c.log.Error("open message", "uid", m.UID, "err", err)
		return &Error{Code: CodeSysTemp, Text: "cannot read the message now; try again later"}
	}
	defer r.Close()
	if bodyLines < 0 {
		c.bw.WriteString(fmt.Sprintf("+OK %d octets\r\n", m.Size))
	} else {
		c.bw.WriteString("+OK top of message follows\r\n")
	}
	dw := newDotWriter(c.bw)
	if bodyLines < 0 {
		_, err = io.Copy(dw, r)
	} else {
		err = copyTop(dw, r, bodyLines)
	}
	if err != nil {
		// Part of the message is out: no answer can follow. Drop the session
		// so that the client does not take a truncated message for whole.
		return abort(fmt.Errorf("message uid %d: %w", m.UID, err))
	}
	if err := dw.Close(); err != nil {
		return abort(err)
	}
	return c.flush()
}

// copyTop copies the header of the message in r, the blank line after it and
// n lines of the body to w. Lines of any length pass through in pieces.
func copyTop(w io.Writer, r io.Reader, n int64) error {
	br := bufio.NewReaderSize(r, 16<<10)
	inBody, lineStart := false, true
	var lines int64
	for !inBody || lines < n {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if _, werr := w.Write(chunk); werr != nil {
				return werr
			}
			wasLineStart := lineStart
			lineStart = chunk[len(chunk)-1] == '\n'
			switch {
			case !inBody && wasLineStart && (string(chunk) == "\r\n" || string(chunk) == "\n"):
				inBody = true // the blank line ending the header (RFC 5322 section 2.1)
			case inBody && lineStart:
				lines++
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
	return nil
}
