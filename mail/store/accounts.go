package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Account is a handle on one account, returned by Authenticate and Account.
// It stays valid until the account is deleted; then its methods return
// ErrNoSuchUser.
type Account struct {
	s    *Store
	id   uint32
	name string
}

// Name is the account's address.
func (a *Account) Name() string { return a.name }

// acct returns the account's state; s.mu held.
func (a *Account) acct() (*account, error) {
	ac := a.s.st.accounts[a.id]
	if ac == nil {
		return nil, ErrNoSuchUser
	}
	return ac, nil
}

func newPassword(password string) error {
	if password == "" || len(password) > 1024 {
		return fmt.Errorf("%w: password must be 1 to 1024 bytes", ErrBadName)
	}
	return nil
}

// AddUser creates the account name (an address; its domain becomes hosted)
// with INBOX and the special-use mailboxes Sent, Trash, Drafts, Junk,
// Archive.
func (s *Store) AddUser(ctx context.Context, name, password string) error {
	if err := s.writable(); err != nil {
		return err
	}
	name, err := normalizeAddress(name, false)
	if err != nil {
		return err
	}
	if err := newPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password, s.opts.Password)
	if err != nil {
		return err
	}
	s.mu.RLock()
	s.resMu.Lock()
	if s.st.byName[name] != nil {
		s.resMu.Unlock()
		s.mu.RUnlock()
		return ErrUserExists
	}
	id := s.st.nextAcct
	s.st.nextAcct++
	recs := []rec{mkrec(&recAccountAddP{id: id, name: name, hash: hash})}
	uv := s.uidValidity(6)
	for i, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
		mid := s.st.nextMbox
		s.st.nextMbox++
		recs = append(recs, mkrec(&recMailboxCreateP{acct: id, id: mid, name: n, special: specialUses[n], uidValidity: uv + uint32(i)}))
		if n != "INBOX" {
			recs = append(recs, mkrec(&recSubscribeP{acct: id, name: n, on: true}))
		}
	}
	recs = append(recs, mkrec(&recSubscribeP{acct: id, name: "INBOX", on: true}))
	u := newUnit(recs...)
	err = s.enqueue(u)
	s.resMu.Unlock()
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := u.wait(); err != nil {
		return err
	}
	if e, ok := u.results[0].(error); ok && e != nil {
		return e
	}
	return nil
}

// mkrec marshals a payload value into a record.
func mkrec(v any) rec {
	if ap, ok := v.(*recAppendP); ok {
		pre, data := ap.parts()
		return rec{typ: recAppend, p: pre, p2: data, v: v}
	}
	typ, p := marshalRec(v)
	return rec{typ: typ, p: p, v: v}
}

// lookup finds an account by name; s.mu held.
func (s *Store) lookup(name string) (*account, error) {
	n, err := normalizeAddress(name, false)
	if err != nil {
		return nil, ErrNoSuchUser
	}
	a := s.st.byName[n]
	if a == nil {
		return nil, ErrNoSuchUser
	}
	return a, nil
}

// changeAccount logs one record about an existing account.
func (s *Store) changeAccount(name string, mk func(id uint32) any) error {
	if err := s.writable(); err != nil {
		return err
	}
	s.mu.RLock()
	a, err := s.lookup(name)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	_, err = s.commit(mkrec(mk(a.id)))
	return err
}

// SetPassword replaces an account's password.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	if err := newPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password, s.opts.Password)
	if err != nil {
		return err
	}
	return s.changeAccount(name, func(id uint32) any { return &recAccountSetP{id: id, field: fieldPassword, hash: hash} })
}

// DelUser deletes an account, its aliases and all its mail.
func (s *Store) DelUser(ctx context.Context, name string) error {
	return s.changeAccount(name, func(id uint32) any { return &recAccountDelP{id: id} })
}

// SetQuota sets an account's quota in bytes; 0 means no limit.
func (s *Store) SetQuota(ctx context.Context, name string, bytes int64) error {
	if bytes < 0 {
		return fmt.Errorf("store: negative quota")
	}
	return s.changeAccount(name, func(id uint32) any { return &recAccountSetP{id: id, field: fieldQuota, quota: bytes} })
}

// SetDisabled disables or enables an account: a disabled account cannot log
// in and takes no deliveries, its mail is kept.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.changeAccount(name, func(id uint32) any {
		return &recAccountSetP{id: id, field: fieldDisabled, disabled: disabled}
	})
}

func userOf(a *account) User {
	return User{Name: a.name, Disabled: a.disabled, Quota: a.quota, Usage: a.usage, Messages: a.nmsgs}
}

// Users lists the accounts sorted by name.
func (s *Store) Users() []User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]User, 0, len(s.st.accounts))
	for _, a := range s.st.accounts {
		out = append(out, userOf(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// User returns one account's description.
func (s *Store) User(name string) (User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.lookup(name)
	if err != nil {
		return User{}, err
	}
	return userOf(a), nil
}

// AddAlias makes address deliver to account. "@domain" is a catch-all.
func (s *Store) AddAlias(ctx context.Context, address, account string) error {
	addr, err := normalizeAddress(address, true)
	if err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		return err
	}
	s.mu.RLock()
	a, err := s.lookup(account)
	exists := s.st.byName[addr] != nil
	_, aliased := s.st.aliases[addr]
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if exists || aliased {
		return ErrAliasExists
	}
	_, err = s.commit(mkrec(&recAliasP{address: addr, account: a.id}))
	return err
}

// DelAlias removes an alias.
func (s *Store) DelAlias(ctx context.Context, address string) error {
	addr, err := normalizeAddress(address, true)
	if err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		return err
	}
	s.mu.RLock()
	_, ok := s.st.aliases[addr]
	s.mu.RUnlock()
	if !ok {
		return ErrNoSuchAlias
	}
	_, err = s.commit(mkrec(&recAliasP{address: addr}))
	return err
}

// Aliases lists the aliases sorted by address.
func (s *Store) Aliases() []Alias {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Alias, 0, len(s.st.aliases))
	for addr, id := range s.st.aliases {
		if a := s.st.accounts[id]; a != nil {
			out = append(out, Alias{Address: addr, Account: a.name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// ResolveRecipient maps an address to the account that receives its mail:
// an account of that name, else an alias, else the same without a
// subaddress ("alice+lists@example.org" is alice@example.org's, RFC 5233,
// as Postfix's recipient_delimiter = + does it), else the domain's catch-all.
// It returns ErrNotHosted for a domain no account is in, ErrNoSuchUser for an
// unknown address of a hosted domain.
func (s *Store) ResolveRecipient(address string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.resolveLocked(address)
	if err != nil {
		return "", err
	}
	return a.name, nil
}

func (s *Store) resolveLocked(address string) (*account, error) {
	addr, err := normalizeAddress(address, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSuchUser, err)
	}
	if a := s.byAddressLocked(addr); a != nil {
		return a, nil
	}
	d := domainOf(addr)
	local := addr[:len(addr)-len(d)-1]
	if i := strings.IndexByte(local, '+'); i > 0 {
		if a := s.byAddressLocked(local[:i] + "@" + d); a != nil {
			return a, nil
		}
	}
	if id, ok := s.st.aliases["@"+d]; ok {
		return s.st.accounts[id], nil
	}
	if s.st.domains[d] == 0 {
		return nil, ErrNotHosted
	}
	return nil, ErrNoSuchUser
}

// byAddressLocked is the account named addr, or that alias addr names.
func (s *Store) byAddressLocked(addr string) *account {
	if a := s.st.byName[addr]; a != nil {
		return a
	}
	if id, ok := s.st.aliases[addr]; ok {
		return s.st.accounts[id]
	}
	return nil
}

// Hosted reports whether domain is one of the store's domains.
func (s *Store) Hosted(domain string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.domains[stringsToLower(domain)] > 0
}

// Authenticate is the one password check of every protocol and the web UI.
// On failure it logs why (unknown user, wrong password, disabled) with
// remote, and returns ErrAuthFailed and nothing else. At most
// Options.PasswordChecks checks run at once; a login waits its turn, and
// if ctx ends first Authenticate returns an error wrapping ctx.Err()
// without checking anything.
func (s *Store) Authenticate(ctx context.Context, user, password, remote string) (*Account, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.RLock()
	a, err := s.lookup(user)
	var hash, name string
	var id uint32
	disabled := false
	if err == nil {
		hash, name, id, disabled = a.hash, a.name, a.id, a.disabled
	}
	s.mu.RUnlock()
	if err != nil {
		// Spend the same time as a real check (the same wait for a slot,
		// the same argon2id work) so that timing does not tell.
		if _, werr := s.verifyPassword(ctx, dummyHash(s.opts.Password), password); werr != nil {
			return nil, s.authAbandoned(user, remote, werr)
		}
		s.log.Warn("store: authentication failed", "user", user, "remote", remote, "reason", "unknown user")
		return nil, ErrAuthFailed
	}
	ok, werr := s.verifyPassword(ctx, hash, password)
	if werr != nil {
		return nil, s.authAbandoned(user, remote, werr)
	}
	if !ok {
		s.log.Warn("store: authentication failed", "user", user, "remote", remote, "reason", "wrong password")
		return nil, ErrAuthFailed
	}
	if disabled {
		s.log.Warn("store: authentication failed", "user", user, "remote", remote, "reason", "account disabled")
		return nil, ErrAuthFailed
	}
	return &Account{s: s, id: id, name: name}, nil
}

// Account returns a handle on an account without a password (local delivery,
// administration).
func (s *Store) Account(name string) (*Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	return &Account{s: s, id: a.id, name: a.name}, nil
}
