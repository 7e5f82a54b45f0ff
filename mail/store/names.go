package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// normalizeAddress lower-cases an account or alias address and checks it:
// local@domain, or "@domain" when catchAll is allowed.
func normalizeAddress(addr string, catchAll bool) (string, error) {
	a := strings.ToLower(strings.TrimSpace(addr))
	i := strings.LastIndexByte(a, '@')
	bad := i < 0 || i == len(a)-1 || len(a) > 254 || !utf8.ValidString(a) ||
		(i == 0 && !catchAll) || strings.ContainsAny(a, " \t\r\n<>,;\"\\") || strings.Count(a[i+1:], "@") > 0
	if !bad {
		for _, r := range a {
			if unicode.IsControl(r) {
				bad = true
			}
		}
	}
	if bad {
		return "", fmt.Errorf("%w: address %q", ErrBadName, addr)
	}
	return a, nil
}

// normalizeMailbox checks a mailbox name (UTF-8, "/" separated, no empty
// parts, no control characters) and spells INBOX and its children's first
// part "INBOX" whatever their case.
func normalizeMailbox(name string) (string, error) {
	if name == "" || len(name) > 1000 || !utf8.ValidString(name) || strings.HasPrefix(name, "/") ||
		strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return "", fmt.Errorf("%w: mailbox %q", ErrBadName, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '*' || r == '%' {
			return "", fmt.Errorf("%w: mailbox %q", ErrBadName, name)
		}
	}
	first, rest, found := strings.Cut(name, "/")
	if strings.EqualFold(first, "INBOX") {
		if found {
			return "INBOX/" + rest, nil
		}
		return "INBOX", nil
	}
	return name, nil
}

var specialUses = map[string]string{
	"Sent": SpecialSent, "Trash": SpecialTrash, "Drafts": SpecialDrafts,
	"Junk": SpecialJunk, "Archive": SpecialArchive,
}

func validSpecial(su string) bool {
	if su == "" {
		return true
	}
	for _, v := range specialUses {
		if v == su {
			return true
		}
	}
	return false
}

// validKeyword checks an IMAP keyword (atom characters, RFC 9051 9).
func validKeyword(k string) bool {
	if k == "" || len(k) > 100 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

func stringsToLower(s string) string { return strings.ToLower(s) }
