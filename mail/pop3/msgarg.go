package pop3

import "fmt"

// message returns the index of message number arg, or the answer for a bad
// or deleted number (RFC 1939 section 5: deleted messages may not be named).
func (c *conn) message(arg string) (int, error) {
	n, err := parseMsgNumber(arg)
	if err != nil {
		return 0, &Error{Text: fmt.Sprintf("invalid message number %q", arg)}
	}
	if n > len(c.msgs) {
		return 0, &Error{Text: fmt.Sprintf("no message %d (maildrop has %d)", n, len(c.msgs))}
	}
	if c.deleted[n-1] {
		return 0, &Error{Text: fmt.Sprintf("message %d already deleted", n)}
	}
	return n - 1, nil
}
