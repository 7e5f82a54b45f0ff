package store

// SetPasswordCheckHook makes every password check of s call f, inside the
// bound of Options.PasswordChecks, with the number of checks running
// (itself included). Call it before the first Authenticate.
func SetPasswordCheckHook(s *Store, f func(running int)) { s.auth.hook = f }

// LingeredWhole says whether the chunk records of an n-byte message (one
// larger than the inline limit) stay under the lingering limit, so that
// the writer holds all of them back until the append record comes.
func LingeredWhole(n int) bool {
	q := 0
	for n > 0 {
		c := min(n, blobChunk)
		q += recSize(c)
		n -= c
	}
	return q < lingerData
}

// OverlapFrom sets on o how much must be queued for a batch to be written
// while the one before it is being flushed (overlapFrom), and returns o.
func OverlapFrom(o *Options, n int) *Options {
	o.overlapFrom = n
	return o
}
