package appliance

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/store"
)

// keyAdmin is the setting naming the admin account, written when the
// account is made at first start.
const keyAdmin = "admin.account"

// The status page's access rules:
//
//   - GET and HEAD (the page, /api/status) are open to whoever reaches the
//     port: they show disk and array state, never mail or accounts. The
//     account API's reads (accounts.go) call authorize themselves.
//   - Every other method changes state (POST /api/bay/N/locate) and needs the
//     admin account's password, by HTTP Basic authentication (RFC 7617)
//     checked with the store's one Authenticate, the same path as IMAP and
//     POP3 logins.
//   - A password is accepted only over TLS (the HTTPS listener, with the
//     mail protocols' certificate) or from loopback, unless
//     --allow-insecure-auth allows plaintext from the LAN. Elsewhere the
//     request is refused with 403 before any password is looked at, and no
//     WWW-Authenticate challenge is sent, so a browser never offers to send
//     one in the clear.
//   - Failed passwords count in the limits.Logins that IMAP and POP3 use
//     (per address and per account); past the limit the answer is 429 with
//     Retry-After, without asking the store.
//   - Browsers attach remembered Basic credentials to any request to the
//     box, including one a foreign page makes them send, so state-changing
//     requests from another origin are refused (Go's CrossOriginProtection:
//     Sec-Fetch-Site, else Origin against Host). Clients that send neither
//     header (curl, scripts) are not browsers and pass.

// authRealm is the Basic realm; browsers show it in their password prompt.
const authRealm = `Basic realm="postvault admin", charset="UTF-8"`

// adminName returns the admin account's name: the stored setting, else the
// configured --admin (stores made before the setting existed).
func (ap *Appliance) adminName() string {
	if v, ok := ap.store.Setting(keyAdmin); ok && len(v) > 0 {
		return string(v)
	}
	return ap.cfg.AdminName
}

// canSendPassword reports whether r arrived where a password may be sent:
// over TLS, from loopback, or anywhere if plaintext is allowed.
func (ap *Appliance) canSendPassword(r *http.Request) bool {
	return r.TLS != nil || ap.cfg.AllowInsecureAuth || limits.IsLoopback(remoteAddr(r))
}

// remoteAddr parses r.RemoteAddr ("ip:port") for the limits.
func remoteAddr(r *http.Request) net.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return stringAddr(r.RemoteAddr)
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

// requireAdmin wraps h: safe methods pass; every other request must come
// from the same origin and carry the admin's password (see the rules
// above).
func (ap *Appliance) requireAdmin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap.log.Warn("http: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	check := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		if ap.authorize(w, r) {
			h.ServeHTTP(w, r)
		}
	})
	return cop.Handler(check)
}

// authorize checks r's credentials and answers the refusal itself; true
// means go ahead.
func (ap *Appliance) authorize(w http.ResponseWriter, r *http.Request) bool {
	remote := remoteAddr(r)
	user, pass, hasAuth := r.BasicAuth()
	if !ap.canSendPassword(r) {
		if hasAuth {
			ap.log.Warn("http: password sent without TLS refused", "user", user, "remote", r.RemoteAddr)
		}
		msg := "admin actions need TLS"
		if u := ap.secureURL(r); u != "" {
			msg += ": use " + u
		}
		http.Error(w, msg, http.StatusForbidden)
		return false
	}
	if !hasAuth {
		w.Header().Set("WWW-Authenticate", authRealm)
		http.Error(w, "admin password required", http.StatusUnauthorized)
		return false
	}
	if wait, ok := ap.logins.Allow(remote, user); !ok {
		secs := int(wait.Seconds()) + 1
		ap.log.Warn("http: login refused, too many failures", "user", user, "remote", r.RemoteAddr, "retry_in", fmt.Sprintf("%ds", secs))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		http.Error(w, fmt.Sprintf("too many failed logins, try again in %d seconds", secs), http.StatusTooManyRequests)
		return false
	}
	acct, err := ap.store.Authenticate(r.Context(), user, pass, r.RemoteAddr)
	switch {
	case errors.Is(err, store.ErrAuthFailed):
		ap.logins.Failed(remote, user)
		ap.log.Warn("http: login failed", "user", user, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", authRealm)
		http.Error(w, "authentication failed", http.StatusUnauthorized)
		return false
	case err != nil:
		ap.log.Error("http: authentication", "user", user, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "authentication unavailable, try again later", http.StatusServiceUnavailable)
		return false
	}
	ap.logins.Succeeded(remote, user)
	if !strings.EqualFold(acct.Name(), ap.adminName()) {
		ap.log.Warn("http: admin action refused to a non-admin account", "user", acct.Name(), "remote", r.RemoteAddr)
		http.Error(w, "this account is not the admin account", http.StatusForbidden)
		return false
	}
	ap.log.Info("http: admin action", "user", acct.Name(), "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
	return true
}

// secureURL is the status page on the HTTPS listener, on the host name r
// used; "" when HTTPS is off.
func (ap *Appliance) secureURL(r *http.Request) string {
	if ap.addrs.HTTPS == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(ap.addrs.HTTPS)
	if err != nil {
		return ""
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		host = ap.cfg.Hostname
	}
	return "https://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/"
}
