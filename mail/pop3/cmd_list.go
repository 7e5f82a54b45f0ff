package pop3

import "strconv"

// handleList answers LIST [msg] (RFC 1939 section 5): scan listings of one
// message, or of every message not marked deleted, multi-line.
func (c *conn) handleList(cmd command) error {
	return c.listing(cmd, func(i int) string { return strconv.FormatInt(c.msgs[i].Size, 10) })
}

// listing answers LIST and UIDL, which differ only in what follows the
// message number.
func (c *conn) listing(cmd command, value func(i int) string) error {
	args := cmd.fields()
	switch len(args) {
	case 0:
		c.bw.WriteString("+OK listing follows\r\n")
		for i := range c.msgs {
			if c.deleted[i] {
				continue
			}
			c.bw.WriteString(strconv.Itoa(i + 1))
			c.bw.WriteByte(' ')
			c.bw.WriteString(value(i))
			c.bw.WriteString("\r\n")
		}
		return c.writeLine(".")
	case 1:
		i, err := c.message(args[0])
		if err != nil {
			return err
		}
		return c.writeOK("%d %s", i+1, value(i))
	default:
		return argError(cmd, "[msg]")
	}
}
