package smtp

import (
	"errors"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/postvault/postvault/mail/store"
)

// Answers, with RFC 3463 enhanced status codes. They are *gosmtp.SMTPError
// values because go-smtp sends only those verbatim; any other error it turns
// into a 554, which the intake must never send for a store problem.
var (
	errNoSuchUser = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	errNotHosted  = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "relaying denied: domain not hosted here"}
	errDisabled   = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 2, 1}, Message: "mailbox disabled"}
	errQuotaFull  = &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "mailbox full, try again later"}
	errQuotaNever = &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 2, 2}, Message: "message larger than the mailbox quota"}
	errStoreFull  = &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 3, 1}, Message: "insufficient system storage, try again later"}
	errTemporary  = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "temporary local problem, try again later"}
	errPartial    = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "not delivered to every recipient, try again later"}
	errDataLost   = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "message not stored for this recipient, try again later"}
	errBadAddress = &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3}, Message: "bad recipient address syntax"}
)

// smtpError maps an error from the store or the data stream to the answer
// the client gets. Store errors other than the account ones are temporary.
func smtpError(err error) *gosmtp.SMTPError {
	var se *gosmtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se // from go-smtp's reader (552 too large) or already mapped
	case errors.Is(err, store.ErrNoSuchUser):
		return errNoSuchUser
	case errors.Is(err, store.ErrNotHosted):
		return errNotHosted
	case errors.Is(err, store.ErrDisabled):
		return errDisabled
	case errors.Is(err, store.ErrQuota):
		return errQuotaFull
	case errors.Is(err, store.ErrFull):
		return errStoreFull
	default: // read-only, closed, I/O, corruption: the sender must retry
		return errTemporary
	}
}
