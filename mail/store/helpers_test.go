package store_test

import (
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

var (
	_ store.Geometry  = (*storetest.Mem)(nil)
	_ store.Discarder = (*storetest.Mem)(nil)
	_ store.Geometry  = (*storetest.PowerCut)(nil)
	_ store.Volume    = (*storetest.File)(nil)
)

// storetest_clone copies a volume's current bytes (as if the power went
// now, with everything acknowledged flushed).
func storetest_clone(v *storetest.Mem) *storetest.Mem {
	return storetest.NewMemFrom(v.Image(), v.StripeSize())
}
