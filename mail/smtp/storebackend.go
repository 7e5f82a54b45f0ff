package smtp

import (
	"io"

	"github.com/postvault/postvault/mail/store"
)

// StoreBackend is the Backend on postvault's mail store, with Reopener:
// *store.Store already has ResolveRecipient, User and Deliver, and
// OpenDelivered reads a delivered copy back through the account.
type StoreBackend struct {
	*store.Store
}

var _ Reopener = StoreBackend{}

// NewStoreBackend returns the Backend for s.
func NewStoreBackend(s *store.Store) StoreBackend {
	return StoreBackend{Store: s}
}

// OpenDelivered implements Reopener.
func (b StoreBackend) OpenDelivered(account, mailbox string, uid uint32) (io.ReadSeekCloser, error) {
	a, err := b.Store.Account(account)
	if err != nil {
		return nil, err
	}
	return a.Open(mailbox, uid)
}

// *store.Store is a Backend as it is (the shared-body path).
var _ Backend = (*store.Store)(nil)
