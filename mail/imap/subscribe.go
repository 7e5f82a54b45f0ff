package imap

// Subscribe adds a name to the subscriptions (RFC 9051 section 6.3.7).
func (s *session) Subscribe(name string) error {
	if err := s.acct.Subscribe(s.ctx(), name); err != nil {
		return s.fail("subscribe", err)
	}
	return nil
}

// Unsubscribe removes a name from them (RFC 9051 section 6.3.8).
func (s *session) Unsubscribe(name string) error {
	if err := s.acct.Unsubscribe(s.ctx(), name); err != nil {
		return s.fail("unsubscribe", err)
	}
	return nil
}
