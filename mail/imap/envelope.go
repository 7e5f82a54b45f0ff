package imap

import (
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// wordDecoder decodes RFC 2047 encoded words in any charset go-message
// knows (KOI8-R, windows-1251, ISO-2022-JP, ...), to UTF-8.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeHeader decodes the encoded words of a header value; on error it
// returns the value unchanged.
func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(unfold(v))
	if err != nil {
		return unfold(v)
	}
	return d
}

// envelope builds the ENVELOPE of a message header (RFC 9051 section
// 7.5.2). The library writes it: it puts the subject and personal names in
// RFC 2047 words again, and angle brackets around message IDs.
func envelope(h textproto.Header) *imap.Envelope {
	env := &imap.Envelope{
		Subject:   strings.TrimSpace(decodeHeader(h.Get("Subject"))),
		From:      addresses(h, "From"),
		Sender:    addresses(h, "Sender"),
		ReplyTo:   addresses(h, "Reply-To"),
		To:        addresses(h, "To"),
		Cc:        addresses(h, "Cc"),
		Bcc:       addresses(h, "Bcc"),
		MessageID: msgID(h.Get("Message-Id")),
	}
	if d := h.Get("Date"); d != "" {
		if t, err := mail.ParseDate(unfold(d)); err == nil {
			env.Date = t
		}
	}
	if v := unfold(h.Get("In-Reply-To")); strings.TrimSpace(v) != "" {
		for {
			i := strings.IndexByte(v, '<')
			j := strings.IndexByte(v[max(i, 0):], '>')
			if i < 0 || j < 0 {
				break
			}
			env.InReplyTo = append(env.InReplyTo, v[i+1:i+j])
			v = v[i+j+1:]
		}
		if len(env.InReplyTo) == 0 {
			env.InReplyTo = []string{strings.Trim(strings.TrimSpace(v), "<>")}
		}
	}
	return env
}

// addresses parses every field named k (some messages repeat To or Cc).
func addresses(h textproto.Header, k string) []imap.Address {
	var out []imap.Address
	for _, v := range h.Values(k) {
		out = append(out, parseAddressList(v, wordDecoder)...)
	}
	return out
}

// msgID strips a message ID's angle brackets; the library adds them back.
func msgID(v string) string {
	v = strings.TrimSpace(unfold(v))
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	return strings.Trim(v, "<>")
}
