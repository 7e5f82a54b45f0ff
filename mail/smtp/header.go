package smtp

import (
	"strings"
	"time"
)

// traceInfo is what the trace fields of one delivered copy say.
type traceInfo struct {
	from     string // MAIL FROM path, "" for the null sender
	rcpt     string // the recipient, or "" when the copy is shared
	helo     string // what the client said in EHLO/LHLO
	remoteIP string
	hostname string // ours
	protocol string // RFC 3848: ESMTP, ESMTPS, LMTP, LMTPS
	tls      string // "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256", or ""
	id       string
	date     time.Time
}

// traceHeader returns the fields added at delivery, each ending in CRLF
// (RFC 5321 section 4.4; RFC 5322 section 3.6.7):
//
//	Return-Path: <from>
//	Delivered-To: rcpt
//	Received: from helo ([ip])
//		by hostname (postvault) with ESMTPS id ID
//		(using TLSv1.3 with cipher ...)
//		for <rcpt>; date
//
// Everything the client chose is cleaned so that it cannot end a field or
// add one (clean).
func traceHeader(t traceInfo) string {
	var b strings.Builder
	if t.from == "" {
		b.WriteString("Return-Path: <>\r\n") // the null sender (bounces)
	} else {
		b.WriteString("Return-Path: <" + clean(t.from, 512) + ">\r\n")
	}
	if t.rcpt != "" {
		b.WriteString("Delivered-To: " + clean(t.rcpt, 512) + "\r\n")
	}
	b.WriteString("Received: from " + clean(t.helo, 255) + " ([" + clean(t.remoteIP, 64) + "])\r\n")
	b.WriteString("\tby " + clean(t.hostname, 255) + " (postvault) with " + t.protocol + " id " + t.id + "\r\n")
	if t.tls != "" {
		b.WriteString("\t(using " + t.tls + ")\r\n")
	}
	if t.rcpt != "" {
		b.WriteString("\tfor <" + clean(t.rcpt, 512) + ">; " + t.date.Format(time.RFC1123Z) + "\r\n")
	} else {
		b.WriteString("\t; " + t.date.Format(time.RFC1123Z) + "\r\n")
	}
	return b.String()
}

// clean makes s safe inside a header field: control characters (CR and LF
// above all), angle brackets, parentheses and semicolons that would change
// the field's structure become "?"; it is cut at max bytes, at a rune
// boundary; an empty result is "unknown".
func clean(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len()+len(string(r)) > max {
			break
		}
		switch {
		case r < ' ' || r == 0x7f || r == '<' || r == '>' || r == '(' || r == ')' || r == ';' || r == 0xfffd:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
