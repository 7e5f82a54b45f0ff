package imap

import "strings"

// Delete removes a mailbox and its messages; its children stay (RFC 9051
// section 6.3.5).
func (s *session) Delete(name string) error {
	if strings.EqualFold(name, "INBOX") {
		return errInbox
	}
	if err := s.acct.DeleteMailbox(s.ctx(), name); err != nil {
		return s.fail("delete", err)
	}
	return nil
}
