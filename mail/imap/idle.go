package imap

import "github.com/emersion/go-imap/v2/imapserver"

// Poll writes the changes made by others since the last command (RFC 9051
// section 5.2).
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel == nil {
		return nil
	}
	return s.sel.poll(w, allowExpunge)
}

// Idle writes changes as they happen until stop is closed (RFC 2177).
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	v := s.sel
	if v == nil {
		<-stop
		return nil
	}
	if err := v.poll(w, true); err != nil {
		return err
	}
	for {
		select {
		case <-stop:
			return nil
		case <-v.w.C():
			if err := v.poll(w, true); err != nil {
				return err
			}
		}
	}
}
