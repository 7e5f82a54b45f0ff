// Package limits holds the abuse limits that every mail protocol shares:
// how many connections one client address may hold open at once (Conns), and
// how many failed logins one address or one account may make in a window
// before further attempts are refused (Logins).
//
// Both are safe for concurrent use by any number of protocol servers; one
// Logins value shared by IMAP, POP3 and the web UI makes a password guesser
// that switches protocol no faster. Addresses are grouped the way an attacker
// holds them: one IPv4 address, or one IPv6 /64 (a single host usually owns
// a whole /64). Memory is bounded: each table keeps at most MaxEntries keys
// and drops the stalest ones first.
//
// Usage in a protocol server:
//
//	release, ok := conns.Acquire(c.RemoteAddr())
//	if !ok { refuse; close }
//	defer release()
//	...
//	if wait, ok := logins.Allow(addr, user); !ok { refuse, say wait }
//	if authenticated { logins.Succeeded(addr, user) } else { logins.Failed(addr, user) }
package limits

import (
	"net"
	"net/netip"
	"strings"
)

// Key returns the key under which addr is counted: the IPv4 address, or the
// IPv6 /64 prefix, as text. An address that is not an IP (a Unix socket,
// a pipe in tests) is its own key.
func Key(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
			ip = ap.Addr()
		} else {
			return addr.Network() + ":" + addr.String()
		}
	}
	return ipKey(ip)
}

// ipKey is Key for a parsed address.
func ipKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return "invalid"
	}
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// IsLoopback reports whether addr is a loopback address (127.0.0.0/8, ::1),
// where a protocol may allow plaintext authentication without TLS.
func IsLoopback(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true // a local socket never leaves the machine
	}
	host := addr.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}
