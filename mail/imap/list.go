package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/store"
)

// List answers LIST and LSUB (RFC 9051 section 6.3.9, LIST-EXTENDED RFC
// 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154, CHILDREN RFC 3348).
// Special-use and child attributes are always returned.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, opts *imap.ListOptions) error {
	if len(patterns) == 0 {
		// An empty pattern asks for the separator and the root.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	if rs := opts.ReturnStatus; rs != nil && rs.DeletedStorage {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown STATUS data item DELETED-STORAGE"}
	}
	boxes, err := s.acct.Mailboxes()
	if err != nil {
		return s.fail("list", err)
	}
	subs := map[string]bool{}
	if opts.SelectSubscribed || opts.ReturnSubscribed {
		l, err := s.acct.Subscriptions()
		if err != nil {
			return s.fail("list", err)
		}
		for _, n := range l {
			subs[n] = true
		}
	}
	for _, e := range listEntries(boxes, subs, opts) {
		if !matchAny(e.Mailbox, ref, patterns) {
			continue
		}
		if opts.ReturnStatus != nil && !hasAttr(e.Attrs, imap.MailboxAttrNonExistent) {
			st, err := s.Status(e.Mailbox, opts.ReturnStatus)
			if err != nil {
				return err
			}
			e.Status = st
		}
		if err := w.WriteList(e); err != nil {
			return err
		}
	}
	return nil
}

// listEntries builds the candidate LIST responses, before pattern matching.
func listEntries(boxes []store.MailboxInfo, subs map[string]bool, opts *imap.ListOptions) []*imap.ListData {
	var out []*imap.ListData
	exists := make(map[string]bool, len(boxes))
	for _, b := range boxes {
		exists[b.Name] = true
		if opts.SelectSpecialUse && b.SpecialUse == "" {
			continue
		}
		sub := subs[b.Name] || b.Subscribed && (opts.SelectSubscribed || opts.ReturnSubscribed)
		if opts.SelectSubscribed && !sub {
			if opts.SelectRecursiveMatch && hasSubscribedChild(b.Name, subs) {
				out = append(out, &imap.ListData{Delim: delim, Mailbox: b.Name, ChildInfo: &imap.ListDataChildInfo{Subscribed: true}})
			}
			continue
		}
		d := &imap.ListData{Delim: delim, Mailbox: b.Name}
		if b.HasChildren {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasChildren)
		} else {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if b.SpecialUse != "" {
			d.Attrs = append(d.Attrs, imap.MailboxAttr(b.SpecialUse))
		}
		if sub {
			d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
		}
		out = append(out, d)
	}
	if opts.SelectSubscribed {
		// Subscriptions to names that do not exist (RFC 5258 section 3.1).
		for n := range subs {
			if !exists[n] {
				out = append(out, &imap.ListData{Delim: delim, Mailbox: n, Attrs: []imap.MailboxAttr{imap.MailboxAttrNonExistent, imap.MailboxAttrSubscribed}})
			}
		}
	}
	return out
}

func hasSubscribedChild(name string, subs map[string]bool) bool {
	for n := range subs {
		if strings.HasPrefix(n, name+string(delim)) {
			return true
		}
	}
	return false
}

func hasAttr(l []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, b := range l {
		if b == a {
			return true
		}
	}
	return false
}

// matchAny reports whether name matches one of the patterns under ref. INBOX
// matches case-insensitively (RFC 9051 section 5.1).
func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, delim, ref, p) {
			return true
		}
		if name == "INBOX" && imapserver.MatchList(name, delim, strings.ToUpper(ref), strings.ToUpper(p)) {
			return true
		}
	}
	return false
}
