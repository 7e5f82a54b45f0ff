package pop3

// handleStat answers STAT (RFC 1939 section 5): the number and total size of
// the messages not marked deleted.
func (c *conn) handleStat(cmd command) error {
	if cmd.rest != "" {
		return argError(cmd, "(no arguments)")
	}
	n, size := 0, int64(0)
	for i, m := range c.msgs {
		if !c.deleted[i] {
			n++
			size += m.Size
		}
	}
	return c.writeOK("%d %d", n, size)
}
