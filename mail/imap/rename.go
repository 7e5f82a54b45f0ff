package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Rename renames a mailbox and its children (RFC 9051 section 6.3.6);
// renaming INBOX moves its messages to the new mailbox.
func (s *session) Rename(oldName, newName string, _ *imap.RenameOptions) error {
	newName = strings.TrimSuffix(newName, string(delim))
	if strings.EqualFold(newName, "INBOX") {
		return errExists
	}
	if err := s.acct.RenameMailbox(s.ctx(), oldName, newName); err != nil {
		return s.fail("rename", err)
	}
	return nil
}
