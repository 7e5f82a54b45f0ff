package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/store"
)

// Expunge removes the messages marked \Deleted (EXPUNGE, RFC 9051 section
// 6.4.3; UID EXPUNGE, RFC 4315 section 2.1; CLOSE, section 6.4.2, where w
// writes nothing). In a mailbox opened with EXAMINE, CLOSE expunges nothing
// and EXPUNGE is refused.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	v := s.sel
	// The library's CLOSE passes a writer with no connection; CLOSE must
	// leave the selected state whatever happens (RFC 9051 section 6.4.2).
	isClose := w == nil || *w == (imapserver.ExpungeWriter{})
	if v.readOnly {
		if isClose {
			return nil
		}
		return errReadOnly
	}
	var set store.UIDSet
	if uids != nil {
		for _, r := range *uids {
			set = append(set, store.UIDRange{Start: uint32(r.Start), Stop: uint32(r.Stop)})
		}
		if imap.IsSearchRes(*uids) {
			set = nil
			for _, u := range s.searchRes {
				set = append(set, store.UIDRange{Start: u, Stop: u})
			}
			if len(set) == 0 {
				return nil
			}
		}
	}
	removed, err := s.acct.ExpungeDeleted(s.ctx(), v.name, set)
	if err != nil {
		err = s.fail("expunge", err)
		if isClose {
			return nil
		}
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.remove(removed, w.WriteExpunge)
}
