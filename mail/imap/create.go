package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/postvault/postvault/mail/store"
)

// specialUses are the attributes CREATE (USE (...)) accepts (RFC 6154
// section 3): the ones the store knows.
var specialUses = map[imap.MailboxAttr]string{
	imap.MailboxAttrSent:    store.SpecialSent,
	imap.MailboxAttrTrash:   store.SpecialTrash,
	imap.MailboxAttrDrafts:  store.SpecialDrafts,
	imap.MailboxAttrJunk:    store.SpecialJunk,
	imap.MailboxAttrArchive: store.SpecialArchive,
}

// Create makes a mailbox and its missing parents (RFC 9051 section 6.3.4).
// A trailing separator only says the client means to put children there.
func (s *session) Create(name string, opts *imap.CreateOptions) error {
	name = strings.TrimSuffix(name, string(delim))
	if strings.EqualFold(name, "INBOX") {
		return errExists
	}
	use := ""
	if opts != nil {
		if len(opts.SpecialUse) > 1 {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: "USEATTR", Text: "One special use per mailbox"}
		}
		for _, a := range opts.SpecialUse {
			u, ok := specialUses[a]
			if !ok {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: "USEATTR", Text: "Unsupported special use " + string(a)}
			}
			use = u
		}
	}
	if err := s.acct.CreateMailbox(s.ctx(), name, use); err != nil {
		return s.fail("create", err)
	}
	return nil
}
