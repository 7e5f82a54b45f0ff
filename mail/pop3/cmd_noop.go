package pop3

// handleNoop answers NOOP (RFC 1939 section 5).
func (c *conn) handleNoop(cmd command) error {
	if cmd.rest != "" {
		return argError(cmd, "(no arguments)")
	}
	return c.writeLine("+OK")
}
