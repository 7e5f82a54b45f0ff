package pop3

// handleRset answers RSET (RFC 1939 section 5): unmarks every message.
func (c *conn) handleRset(cmd command) error {
	if cmd.rest != "" {
		return argError(cmd, "(no arguments)")
	}
	clear(c.deleted)
	var size int64
	for _, m := range c.msgs {
		size += m.Size
	}
	return c.writeOK("maildrop has %d messages (%d octets)", len(c.msgs), size)
}
