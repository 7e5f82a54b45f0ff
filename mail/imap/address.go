package imap

import (
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// missingHost stands for the domain of an address that has none, since a
// NIL host would make it a group marker (RFC 9051 section 7.5.2, ENVELOPE).
const missingHost = "MISSING_DOMAIN"

// parseAddressList turns an address-list header value (RFC 5322 section
// 3.4) into ENVELOPE addresses, groups included: a group is a start marker
// (NIL NIL "name" NIL), its members, and an end marker (NIL NIL NIL NIL).
// The library's helper drops groups and their members; this one keeps
// everything it can read and skips only items with no address at all.
func parseAddressList(v string, dec *mime.WordDecoder) []imap.Address {
	v = unfold(v)
	var out []imap.Address
	for _, it := range splitTop(v) {
		if it.group {
			out = append(out, imap.Address{Mailbox: groupName(it.name, dec)})
			for _, m := range it.members {
				if a, ok := parseMailbox(m, dec); ok {
					out = append(out, a)
				}
			}
			out = append(out, imap.Address{})
			continue
		}
		if a, ok := parseMailbox(it.name, dec); ok {
			out = append(out, a)
		}
	}
	return out
}

func unfold(v string) string {
	return strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
}

// item is one top-level entry of an address list: a mailbox, or a group.
type item struct {
	group   bool
	name    string // the mailbox text, or the group's display name
	members []string
}

// splitTop splits an address list at top-level commas, finding groups
// ("name: a, b;"). Quoted strings, comments, angle brackets and domain
// literals hide their commas, colons and semicolons.
func splitTop(v string) []item {
	var (
		out      []item
		cur      strings.Builder
		grp      *item
		depth    int // comment nesting
		quoted   bool
		angle    bool
		bracket  bool
		escaping bool
	)
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if grp != nil {
			if s != "" {
				grp.members = append(grp.members, s)
			}
			return
		}
		if s != "" {
			out = append(out, item{name: s})
		}
	}
	for _, r := range v {
		if escaping {
			escaping = false
			cur.WriteRune(r)
			continue
		}
		switch {
		case r == '\\' && (quoted || depth > 0):
			escaping = true
		case quoted:
			if r == '"' {
				quoted = false
			}
		case depth > 0:
			if r == '(' {
				depth++
			} else if r == ')' {
				depth--
			}
		case r == '"':
			quoted = true
		case r == '(':
			depth++
		case angle:
			if r == '>' {
				angle = false
			}
		case bracket:
			if r == ']' {
				bracket = false
			}
		case r == '<':
			angle = true
		case r == '[':
			bracket = true
		case r == ',':
			flush()
			continue
		case r == ':' && grp == nil:
			grp = &item{group: true, name: strings.TrimSpace(cur.String())}
			cur.Reset()
			continue
		case r == ';' && grp != nil:
			flush()
			out = append(out, *grp)
			grp = nil
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	if grp != nil { // a group without its ";"
		out = append(out, *grp)
	}
	return out
}

// groupName is the display name of a group, decoded, then encoded again
// as an RFC 2047 word if it is not ASCII (the library writes this field
// as it is, unlike personal names, which it encodes itself).
func groupName(raw string, dec *mime.WordDecoder) string {
	name := strings.TrimSpace(strings.Trim(strings.TrimSpace(raw), `"`))
	if d, err := dec.DecodeHeader(name); err == nil {
		name = d
	}
	if name == "" {
		name = "undisclosed-recipients"
	}
	return mime.QEncoding.Encode("utf-8", name)
}

// parseMailbox reads one mailbox ("Name <a@b>", "a@b (comment)"). When
// net/mail cannot parse it, the address is taken from between the angle
// brackets, or the whole text, so that nothing the sender wrote is lost.
func parseMailbox(s string, dec *mime.WordDecoder) (imap.Address, bool) {
	p := mail.AddressParser{WordDecoder: dec}
	if a, err := p.Parse(s); err == nil {
		return splitAddr(decodeQuotedWords(a.Name, dec), a.Address), true
	}
	name, addr := s, s
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		name = strings.TrimSpace(s[:i])
		addr = strings.TrimSuffix(strings.TrimSpace(s[i+1:]), ">")
		if d, err := dec.DecodeHeader(strings.Trim(name, `"`)); err == nil {
			name = d
		}
	} else {
		name = ""
	}
	addr = strings.TrimSpace(addr)
	// A source route (RFC 5322 section 4.4, obs-route) is dropped.
	if strings.HasPrefix(addr, "@") {
		if i := strings.IndexByte(addr, ':'); i >= 0 {
			addr = addr[i+1:]
		}
	}
	if addr == "" || !utf8.ValidString(addr) {
		return imap.Address{}, false
	}
	return splitAddr(name, addr), true
}

// decodeQuotedWords decodes encoded words that a sender put inside a
// quoted display name, which RFC 2047 section 5 does not allow but mail
// clients write and read.
func decodeQuotedWords(name string, dec *mime.WordDecoder) string {
	if !strings.Contains(name, "=?") {
		return name
	}
	if d, err := dec.DecodeHeader(name); err == nil {
		return d
	}
	return name
}

func splitAddr(name, addr string) imap.Address {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return imap.Address{Name: name, Mailbox: addr, Host: missingHost}
	}
	local, host := addr[:i], addr[i+1:]
	if host == "" {
		host = missingHost
	}
	if local == "" {
		local = `""`
	}
	return imap.Address{Name: name, Mailbox: local, Host: host}
}
