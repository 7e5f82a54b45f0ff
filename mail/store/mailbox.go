package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// uidValidity hands out n consecutive UIDVALIDITY values, from the clock
// and never below one handed out before; s.mu (read) and s.resMu held.
func (s *Store) uidValidity(n uint32) uint32 {
	v := max(uint32(s.now().Unix()), s.st.maxUIDV+1)
	s.st.maxUIDV = v + n - 1
	return v
}

// Mailboxes lists the account's mailboxes sorted by name.
func (a *Account) Mailboxes() ([]MailboxInfo, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	ac, err := a.acct()
	if err != nil {
		return nil, err
	}
	out := make([]MailboxInfo, 0, len(ac.byName))
	for name, mb := range ac.byName {
		out = append(out, MailboxInfo{Name: name, SpecialUse: mb.special, Subscribed: ac.subs[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		for j := i + 1; j < len(out) && strings.HasPrefix(out[j].Name, out[i].Name); j++ {
			if strings.HasPrefix(out[j].Name, out[i].Name+"/") {
				out[i].HasChildren = true
				break
			}
		}
	}
	return out, nil
}

// CreateMailbox creates a mailbox, and its missing parents. specialUse is ""
// or one of the Special constants.
func (a *Account) CreateMailbox(ctx context.Context, name, specialUse string) error {
	s := a.s
	if err := s.writable(); err != nil {
		return err
	}
	name, err := normalizeMailbox(name)
	if err != nil {
		return err
	}
	if !validSpecial(specialUse) {
		return fmt.Errorf("%w: special-use %q", ErrBadName, specialUse)
	}
	s.mu.RLock()
	s.resMu.Lock()
	ac, err := a.acct()
	if err == nil && ac.byName[name] != nil {
		err = ErrMailboxExists
	}
	var u *unit
	if err == nil {
		var recs []rec
		parts := strings.Split(name, "/")
		for i := range parts {
			n := strings.Join(parts[:i+1], "/")
			if ac.byName[n] != nil {
				continue
			}
			su := ""
			if n == name {
				su = specialUse
			}
			recs = append(recs, mkrec(&recMailboxCreateP{acct: ac.id, id: s.st.nextMbox, name: n, special: su, uidValidity: s.uidValidity(1)}))
			s.st.nextMbox++
		}
		u = newUnit(recs...)
		err = s.enqueue(u)
	}
	s.resMu.Unlock()
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := u.wait(); err != nil {
		return err
	}
	if e, _ := u.results[len(u.results)-1].(error); e != nil {
		return e
	}
	return nil
}

// DeleteMailbox deletes a mailbox and its messages. Its children stay. INBOX
// cannot be deleted.
func (a *Account) DeleteMailbox(ctx context.Context, name string) error {
	s := a.s
	if err := s.writable(); err != nil {
		return err
	}
	name, err := normalizeMailbox(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return fmt.Errorf("%w: INBOX cannot be deleted", ErrBadName)
	}
	s.mu.RLock()
	ac, err := a.acct()
	var mb *mailbox
	if err == nil {
		if mb = ac.byName[name]; mb == nil {
			err = ErrNoSuchMailbox
		}
	}
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	_, err = s.commit(mkrec(&recMailboxDeleteP{acct: ac.id, id: mb.id}))
	return err
}

// RenameMailbox renames a mailbox and all its children. Renaming INBOX moves
// its messages into a new mailbox and leaves INBOX empty (RFC 9051 6.3.6).
func (a *Account) RenameMailbox(ctx context.Context, oldName, newName string) error {
	s := a.s
	if err := s.writable(); err != nil {
		return err
	}
	oldName, err := normalizeMailbox(oldName)
	if err != nil {
		return err
	}
	if newName, err = normalizeMailbox(newName); err != nil {
		return err
	}
	if oldName == newName || strings.HasPrefix(newName, oldName+"/") {
		return fmt.Errorf("%w: cannot rename %q into itself", ErrBadName, oldName)
	}
	if newName == "INBOX" {
		return ErrMailboxExists
	}
	s.mu.RLock()
	s.resMu.Lock()
	u, err := a.renameLocked(oldName, newName)
	if err == nil {
		err = s.enqueue(u)
	}
	s.resMu.Unlock()
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := u.wait(); err != nil {
		return err
	}
	for _, r := range u.results {
		if e, _ := r.(error); e != nil {
			return e
		}
	}
	return nil
}

// renameLocked builds the rename unit; s.mu (read) and s.resMu held.
func (a *Account) renameLocked(oldName, newName string) (*unit, error) {
	s := a.s
	ac, err := a.acct()
	if err != nil {
		return nil, err
	}
	mb := ac.byName[oldName]
	if mb == nil {
		return nil, ErrNoSuchMailbox
	}
	if ac.byName[newName] != nil {
		return nil, ErrMailboxExists
	}
	var recs []rec
	// Missing parents of the new name are created.
	parts := strings.Split(newName, "/")
	for i := range parts[:len(parts)-1] {
		n := strings.Join(parts[:i+1], "/")
		if ac.byName[n] == nil && n != oldName {
			recs = append(recs, mkrec(&recMailboxCreateP{acct: ac.id, id: s.st.nextMbox, name: n, uidValidity: s.uidValidity(1)}))
			s.st.nextMbox++
		}
	}
	if oldName == "INBOX" {
		id := s.st.nextMbox
		s.st.nextMbox++
		recs = append(recs, mkrec(&recMailboxCreateP{acct: ac.id, id: id, name: newName, uidValidity: s.uidValidity(1)}))
		cp := &recCopyP{acct: ac.id, src: mb.id, dst: id, move: true}
		for i := range mb.msgs {
			cp.pairs = append(cp.pairs, uidPair{mb.msgs[i].uid, uint32(i + 1)})
		}
		recs = append(recs, mkrec(cp))
		// What a session has seen in INBOX is not recent in its new home:
		// the claimed messages are a prefix of the moved ones.
		claimed := uint32(0)
		for i := range mb.msgs {
			if mb.msgs[i].uid <= mb.recentRes {
				claimed = uint32(i + 1)
			}
		}
		if claimed > 0 {
			recs = append(recs, mkrec(&recRecentP{acct: ac.id, mbox: id, mark: claimed}))
		}
		return newUnit(recs...), nil
	}
	rn := &recMailboxRenameP{acct: ac.id}
	for n, m := range ac.byName {
		if n == oldName || strings.HasPrefix(n, oldName+"/") {
			nn := newName + n[len(oldName):]
			if o := ac.byName[nn]; o != nil && !(o.name == oldName || strings.HasPrefix(o.name, oldName+"/")) {
				return nil, ErrMailboxExists
			}
			rn.entries = append(rn.entries, renameEntry{m.id, nn})
		}
	}
	sort.Slice(rn.entries, func(i, j int) bool { return rn.entries[i].id < rn.entries[j].id })
	recs = append(recs, mkrec(rn))
	return newUnit(recs...), nil
}

// Subscribe adds a name to the subscriptions (it need not exist).
func (a *Account) Subscribe(ctx context.Context, name string) error {
	return a.subscribe(name, true)
}

// Unsubscribe removes a name from the subscriptions.
func (a *Account) Unsubscribe(ctx context.Context, name string) error {
	return a.subscribe(name, false)
}

func (a *Account) subscribe(name string, on bool) error {
	if err := a.s.writable(); err != nil {
		return err
	}
	name, err := normalizeMailbox(name)
	if err != nil {
		return err
	}
	a.s.mu.RLock()
	_, err = a.acct()
	a.s.mu.RUnlock()
	if err != nil {
		return err
	}
	_, err = a.s.commit(mkrec(&recSubscribeP{acct: a.id, name: name, on: on}))
	return err
}

// Subscriptions lists the subscribed names, sorted.
func (a *Account) Subscriptions() ([]string, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	ac, err := a.acct()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ac.subs))
	for n := range ac.subs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// mailbox finds a mailbox by name; s.mu held.
func (a *Account) mailbox(name string) (*mailbox, error) {
	ac, err := a.acct()
	if err != nil {
		return nil, err
	}
	n, err := normalizeMailbox(name)
	if err != nil {
		return nil, ErrNoSuchMailbox
	}
	mb := ac.byName[n]
	if mb == nil {
		return nil, ErrNoSuchMailbox
	}
	return mb, nil
}

// Status returns a mailbox's status.
func (a *Account) Status(mailbox string) (Status, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	mb, err := a.mailbox(mailbox)
	if err != nil {
		return Status{}, err
	}
	return mb.status(), nil
}
