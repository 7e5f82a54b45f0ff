package imap_test

import "github.com/postvault/postvault/mail/imap"

func imapOptions(appendLimit uint32) imap.Options {
	return imap.Options{AppendLimit: appendLimit}
}
