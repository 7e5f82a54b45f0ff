package pop3

// handlePass answers PASS string (RFC 1939 section 7). The password is the
// whole rest of the line, spaces included.
func (c *conn) handlePass(cmd command) error {
	if c.user == "" {
		return &Error{Text: "USER first"}
	}
	user := c.user
	c.user = ""
	return c.login(user, cmd.rest)
}
