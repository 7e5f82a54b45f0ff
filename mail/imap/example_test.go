package imap_test

import (
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/postvault/postvault/mail/imap"
	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/store"
)

// How the appliance serves IMAP on 143 (STARTTLS) and 993 (implicit TLS),
// sharing the login and connection limits with POP3.
func ExampleNew() {
	var (
		st     *store.Store // opened by the firmware
		tlsCfg *tls.Config  // certs.Holder.TLSConfig()
		logins = limits.NewLogins(nil)
		conns  = limits.NewConns(0)
	)
	srv, err := imap.New(st, &imap.Options{
		TLSConfig: tlsCfg,
		Logins:    logins,
		Conns:     conns,
		Logger:    slog.Default(),
	})
	if err != nil {
		return
	}
	defer srv.Close()
	plain, _ := net.Listen("tcp", ":143")
	implicit, _ := net.Listen("tcp", ":993")
	go srv.Serve(plain)
	go srv.Serve(tls.NewListener(implicit, tlsCfg))
}
