package pop3

// handleUidl answers UIDL [msg] (RFC 1939 section 7): unique-id listings,
// derived from UIDVALIDITY and UID (see UIDL), so stable across sessions and
// restarts and the same message as IMAP's INBOX.
func (c *conn) handleUidl(cmd command) error {
	v := c.uidValidity
	return c.listing(cmd, func(i int) string { return UIDL(v, c.msgs[i].UID) })
}
