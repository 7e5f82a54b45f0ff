package imap

import (
	"context"
	"errors"

	"github.com/postvault/postvault/mail/store"
)

// \Recent (RFC 3501 section 2.3.2, gone in RFC 9051): a message is recent
// in the one session that first learns of it. The store keeps per mailbox
// the highest UID some session has claimed (Account.ClaimRecent), durably,
// so a restart neither makes seen mail recent again nor loses mail nobody
// has seen. A session claims every UID above the mark when it SELECTs the
// mailbox (EXAMINE claims nothing) and the new mail it learns of while the
// mailbox is selected. A session that has enabled IMAP4rev2 never shows
// \Recent and so claims nothing, leaving the mail recent for a rev1
// session. Renames keep the mark (it belongs to the mailbox, not its name);
// renaming INBOX carries the claimed part to the new mailbox.

// selectRecent returns the \Recent mark of a mailbox being opened, whose
// listing ends with UID top: with claim, the session takes every UID above
// the old mark up to top, and the UIDs above the returned mark are recent
// for it alone.
func (s *session) selectRecent(name string, top uint32, claim bool) (uint32, error) {
	if claim && top > 0 {
		prev, _, err := s.acct.ClaimRecent(s.ctx(), name, top)
		if err == nil || errors.Is(err, store.ErrNoSuchMailbox) {
			return prev, err
		}
		// A store that cannot write (read-only, failing) still serves
		// reads: show what is recent without claiming it.
		if !errors.Is(err, store.ErrReadOnly) {
			s.srv.log.Warn("imap: claim \\Recent", "user", s.acct.Name(), "mailbox", name, "err", err)
		}
	}
	return s.acct.RecentMark(name)
}

// claimFresh claims the new messages the session learnt of since the last
// claim, all in one store call; v.mu must be held. Those above the old mark
// become recent for this session.
func (v *selected) claimFresh() {
	if len(v.fresh) == 0 {
		return
	}
	fresh := v.fresh
	v.fresh = v.fresh[:0]
	if v.readOnly || v.rev2 {
		return
	}
	prev, now, err := v.acct.ClaimRecent(context.Background(), v.name, fresh[len(fresh)-1])
	if err != nil {
		if !errors.Is(err, store.ErrNoSuchMailbox) && !errors.Is(err, store.ErrReadOnly) {
			v.srv.log.Warn("imap: claim \\Recent", "user", v.acct.Name(), "mailbox", v.name, "err", err)
		}
		return
	}
	for _, uid := range fresh {
		if uid > prev && uid <= now {
			v.recent[uid] = struct{}{}
		}
	}
}
