package pop3

// handleRetr answers RETR msg (RFC 1939 section 5): the whole message,
// streamed from the store and dot-stuffed.
func (c *conn) handleRetr(cmd command) error {
	args := cmd.fields()
	if len(args) != 1 {
		return argError(cmd, "msg")
	}
	i, err := c.message(args[0])
	if err != nil {
		return err
	}
	return c.sendMessage(i, -1)
}
