package pop3

// handleUser answers USER name (RFC 1939 section 7): the name is kept for
// PASS. The answer does not say whether the account exists.
func (c *conn) handleUser(cmd command) error {
	if !c.insecureAuthAllowed() {
		return errAuthPlaintext
	}
	if cmd.rest == "" {
		return argError(cmd, "name")
	}
	c.user = cmd.rest
	return c.writeOK("send PASS")
}
