package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
)

// bodyStructure builds BODYSTRUCTURE (and BODY, its non-extended form) from
// the scanned structure (RFC 9051 section 7.5.2). Sizes are of the body as
// stored (encoded), line counts of text and message/rfc822 bodies as
// stored.
func bodyStructure(p *part) imap.BodyStructure {
	h := gomessage.Header{Header: p.header}
	typ, sub, _ := strings.Cut(p.mediaType, "/")
	if p.children != nil && len(p.children) > 0 {
		bs := &imap.BodyStructureMultiPart{Subtype: sub}
		for _, c := range p.children {
			bs.Children = append(bs.Children, bodyStructure(c))
		}
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      p.params,
			Disposition: disposition(h),
			Language:    language(h),
			Location:    strings.TrimSpace(h.Get("Content-Location")),
		}
		return bs
	}
	switch {
	case typ == "multipart":
		// A multipart without parts cannot be written as one (the library
		// panics, and the grammar needs at least one body); describe it
		// as the opaque text it is.
		typ, sub = "text", "plain"
	case typ == "message" && (sub == "rfc822" || sub == "global") && p.msg == nil:
		// An enclosed message in base64 or quoted-printable (RFC 2046
		// section 5.2.1 forbids it) has no envelope to give, and
		// body-type-msg requires one: call it what it is to us.
		typ, sub = "application", "octet-stream"
	}
	bs := &imap.BodyStructureSinglePart{
		Type:        typ,
		Subtype:     sub,
		Params:      p.params,
		ID:          strings.TrimSpace(h.Get("Content-Id")),
		Description: strings.TrimSpace(decodeHeader(h.Get("Content-Description"))),
		Encoding:    strings.TrimSpace(h.Get("Content-Transfer-Encoding")),
		Size:        uint32(min(p.end-p.bodyStart, 1<<32-1)),
		Extended: &imap.BodyStructureSinglePartExt{
			Disposition: disposition(h),
			Language:    language(h),
			Location:    strings.TrimSpace(h.Get("Content-Location")),
		},
	}
	if p.msg != nil {
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      envelope(p.msg.header),
			BodyStructure: bodyStructure(p.msg),
			NumLines:      p.lines,
		}
	} else if typ == "text" {
		bs.Text = &imap.BodyStructureText{NumLines: p.lines}
	}
	return bs
}

func disposition(h gomessage.Header) *imap.BodyStructureDisposition {
	d, params, err := h.ContentDisposition()
	if d == "" {
		return nil
	}
	if err != nil && params == nil {
		params = map[string]string{}
	}
	return &imap.BodyStructureDisposition{Value: d, Params: params}
}

func language(h gomessage.Header) []string {
	v := h.Get("Content-Language")
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var l []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l
}
