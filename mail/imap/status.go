package imap

import (
	"github.com/emersion/go-imap/v2"

	"github.com/postvault/postvault/mail/store"
)

// Status answers STATUS (RFC 9051 section 6.3.11; SIZE and DELETED from
// RFC 8438 and 9051, APPENDLIMIT from RFC 7889, RECENT from RFC 3501).
func (s *session) Status(name string, opts *imap.StatusOptions) (*imap.StatusData, error) {
	if opts.DeletedStorage {
		// RFC 9208 section 4.2.3: only with QUOTA=RES-STORAGE, which we do
		// not offer.
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown STATUS data item DELETED-STORAGE"}
	}
	st, err := s.acct.Status(name)
	if err != nil {
		return nil, s.fail("status", err)
	}
	data := statusData(name, st, opts, s.srv.opts.AppendLimit)
	if opts.NumRecent {
		n, err := s.numRecent(name)
		if err != nil {
			return nil, s.fail("status", err)
		}
		data.NumRecent = &n
	}
	return data, nil
}

func statusData(name string, st store.Status, opts *imap.StatusOptions, appendLimit uint32) *imap.StatusData {
	data := &imap.StatusData{Mailbox: name}
	if opts.NumMessages {
		n := uint32(st.Messages)
		data.NumMessages = &n
	}
	if opts.UIDNext {
		data.UIDNext = imap.UID(st.UIDNext)
	}
	if opts.UIDValidity {
		data.UIDValidity = st.UIDValidity
	}
	if opts.NumUnseen {
		n := uint32(st.Unseen)
		data.NumUnseen = &n
	}
	if opts.NumDeleted {
		n := uint32(st.Deleted)
		data.NumDeleted = &n
	}
	if opts.Size {
		n := st.Size
		data.Size = &n
	}
	if opts.AppendLimit {
		n := appendLimit
		data.AppendLimit = &n
	}
	return data
}

// numRecent counts the messages above the mailbox's \Recent mark, without
// claiming them (STATUS changes nothing).
func (s *session) numRecent(name string) (uint32, error) {
	msgs, _, err := s.acct.Messages(name, nil)
	if err != nil {
		return 0, err
	}
	mark, err := s.acct.RecentMark(name)
	if err != nil {
		return 0, err
	}
	var n uint32
	for _, m := range msgs {
		if m.UID > mark {
			n++
		}
	}
	return n, nil
}
