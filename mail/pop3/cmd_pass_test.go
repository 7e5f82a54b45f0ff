package pop3_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/pop3"
)

func TestUserPass(t *testing.T) {
	e := newEnv(t, nil)
	e.be.Deliver("alice", msg("Subject: a", "", "hello"))
	c := e.dial(t)
	c.cmd("PASS secret", "-ERR USER first")
	c.cmd("STAT", "-ERR STAT not allowed before login")
	c.cmd("USER alice", "+OK")
	c.cmd("PASS wrong", "-ERR [AUTH] invalid user name or password")
	c.cmd("USER nosuch", "+OK")
	c.cmd("PASS secret", "-ERR [AUTH] invalid user name or password")
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK maildrop has 1 messages (")
	c.cmd("USER alice", "-ERR USER not allowed after login")
	c.cmd("QUIT", "+OK")
	c.closed()
	if logs := e.logs.String(); strings.Count(logs, "login failed") != 2 || !strings.Contains(logs, "user=nosuch") {
		t.Errorf("log has not one line per failed login:\n%s", logs)
	}
}

func TestPassWithSpaces(t *testing.T) {
	e := newEnv(t, nil)
	e.be.AddAccount("carol", "two words ", 1)
	c := e.dial(t)
	c.cmd("USER carol", "+OK")
	c.cmd("PASS two words ", "+OK")
}

func TestFailedLoginsLimited(t *testing.T) {
	logins := limits.NewLogins(&limits.LoginOptions{MaxPerAddr: 3, MaxPerAccount: 100, Window: time.Hour})
	e := newEnv(t, func(o *pop3.Options) { o.Logins = logins })
	c := e.dial(t)
	for i := 0; i < 3; i++ {
		c.cmd("USER alice", "+OK")
		c.cmd("PASS bad", "-ERR [AUTH]")
	}
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [LOGIN-DELAY] too many failed logins; try again in")
	if !strings.Contains(e.logs.String(), "too many failures") {
		t.Errorf("refused login not logged:\n%s", e.logs.String())
	}
}

func TestFailedLoginsPerAccount(t *testing.T) {
	logins := limits.NewLogins(&limits.LoginOptions{MaxPerAddr: 100, MaxPerAccount: 2, Window: time.Hour})
	e := newEnv(t, func(o *pop3.Options) { o.Logins = logins })
	c := e.dial(t)
	c.cmd("USER alice", "+OK")
	c.cmd("PASS bad", "-ERR [AUTH]")
	c.cmd("USER alice", "+OK")
	c.cmd("PASS bad", "-ERR [AUTH]")
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "-ERR [LOGIN-DELAY]")
	c.cmd("USER bob", "+OK")
	c.cmd("PASS hunter2", "+OK") // another account from the same address
}

// remoteListener makes every accepted connection claim to come from addr,
// to test what the server does for clients off loopback.
type remoteListener struct {
	net.Listener
	addr net.Addr
}

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{c, l.addr}, nil
}

type remoteConn struct {
	net.Conn
	addr net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.addr }

func TestPlaintextRefusedOffLoopback(t *testing.T) {
	tests := []struct {
		name       string
		allow      bool
		capaUser   bool
		userAnswer string
	}{
		{"refused", false, false, "-ERR [AUTH] plaintext authentication is not allowed without TLS"},
		{"allowed by option", true, true, "+OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *pop3.Options) { o.AllowInsecureAuth = tt.allow })
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go e.srv.Serve(remoteListener{l, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 9), Port: 4000}})
			e.addr = l.Addr().String()
			c := e.dial(t)
			c.send("CAPA")
			c.expect("+OK")
			capa := strings.Join(c.multi(), "\n")
			if got := strings.Contains(capa, "\nUSER\n"); got != tt.capaUser {
				t.Errorf("CAPA lists USER = %v, want %v:\n%s", got, tt.capaUser, capa)
			}
			if !strings.Contains(capa, "STLS") {
				t.Errorf("CAPA lacks STLS:\n%s", capa)
			}
			c.cmd("USER alice", tt.userAnswer)
			c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", map[bool]string{true: "+OK", false: "-ERR [AUTH]"}[tt.allow])
			if !tt.allow {
				// After STLS the same credentials are accepted.
				c.cmd("STLS", "+OK")
				c.startTLS(e.pool)
				c.cmd("USER alice", "+OK")
				c.cmd("PASS secret", "+OK maildrop")
			}
		})
	}
}
