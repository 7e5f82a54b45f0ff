package store_test

import "github.com/postvault/postvault/mail/store/storetest"

// storetest_clone copies a volume's current bytes (as if the power went
// now, with everything acknowledged flushed).
func storetest_clone(v *storetest.Mem) *storetest.Mem {
	return storetest.NewMemFrom(v.Image(), v.StripeSize())
}
