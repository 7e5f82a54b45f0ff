package store

// SetPasswordCheckHook makes every password check of s call f, inside the
// bound of Options.PasswordChecks, with the number of checks running
// (itself included). Call it before the first Authenticate.
func SetPasswordCheckHook(s *Store, f func(running int)) { s.auth.hook = f }
