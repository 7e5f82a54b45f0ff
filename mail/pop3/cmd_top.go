package pop3

// handleTop answers TOP msg n (RFC 1939 section 7): the header, the blank
// line and the first n lines of the body.
func (c *conn) handleTop(cmd command) error {
	args := cmd.fields()
	if len(args) != 2 {
		return argError(cmd, "msg n")
	}
	i, err := c.message(args[0])
	if err != nil {
		return err
	}
	n, err := parseLineCount(args[1])
	if err != nil {
		return &Error{Text: "invalid line count " + args[1]}
	}
	return c.sendMessage(i, n)
}
