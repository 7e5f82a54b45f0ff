package pop3

// handleDele answers DELE msg (RFC 1939 section 5): marks the message; it is
// removed at QUIT.
func (c *conn) handleDele(cmd command) error {
	args := cmd.fields()
	if len(args) != 1 {
		return argError(cmd, "msg")
	}
	i, err := c.message(args[0])
	if err != nil {
		return err
	}
	c.deleted[i] = true
	return c.writeOK("message %d deleted", i+1)
}
