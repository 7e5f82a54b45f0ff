package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/postvault/postvault/mail/limits"
)

// Options configures a Server. The zero value of each field is documented;
// a nil *Options is the zero Options.
type Options struct {
	// TLSConfig serves STLS and implicit TLS (ServeTLS). nil: no STLS, no
	// ServeTLS, and plaintext logins only from loopback or with
	// AllowInsecureAuth.
	TLSConfig *tls.Config
	// AllowInsecureAuth allows USER/PASS and AUTH PLAIN without TLS from any
	// address (for a trusted LAN). false: only over TLS or from loopback.
	AllowInsecureAuth bool
	// Hostname is named in the greeting; "": none.
	Hostname string
	// IdleTimeout closes a connection that sends nothing, or reads nothing
	// of a response, for this long; 0: 10 minutes, the minimum of RFC 1939
	// section 3.
	IdleTimeout time.Duration
	// MaxLineLength is the longest command line accepted, CRLF included;
	// 0: 1024 (RFC 2449 allows 255; AUTH PLAIN with a long initial
	// response needs more).
	MaxLineLength int
	// MaxCommandsBeforeLogin closes a connection that sends more commands
	// than this before logging in; 0: 30.
	MaxCommandsBeforeLogin int
	// FailureDelay pauses before answering a failed login; 0: 1 second,
	// negative: no pause.
	FailureDelay time.Duration
	// Conns limits connections per client address; nil: a limit of
	// limits.DefaultConnsPerAddr for this server alone.
	Conns *limits.Conns
	// Logins limits failed logins per address and account; nil: limits
	// with default options for this server alone. Share one with the other
	// protocols.
	Logins *limits.Logins
	// Logger receives a line for each login, failed login and error;
	// nil: slog.Default().
	Logger *slog.Logger
}

// Server is a POP3 server. Serve and ServeTLS may be called for several
// listeners; the maildrop lock covers them all.
type Server struct {
	be   Backend
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	conns     map[*conn]struct{}        // guarded by mu
	locks     map[string]*conn          // guarded by mu: account -> session holding its maildrop
	closed    bool                      // guarded by mu
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("pop3: server closed")

// New returns a server on be.
func New(be Backend, opts *Options) (*Server, error) {
	if be == nil {
		return nil, errors.New("pop3: nil backend")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.IdleTimeout < 0 || o.MaxLineLength < 0 || o.MaxCommandsBeforeLogin < 0 {
		return nil, errors.New("pop3: negative limit in options")
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.MaxLineLength == 0 {
		o.MaxLineLength = 1024
	}
	if o.MaxLineLength < 64 {
		return nil, fmt.Errorf("pop3: MaxLineLength %d too small", o.MaxLineLength)
	}
	if o.MaxCommandsBeforeLogin == 0 {
		o.MaxCommandsBeforeLogin = 30
	}
	if o.FailureDelay == 0 {
		o.FailureDelay = time.Second
	}
	if o.Conns == nil {
		o.Conns = limits.NewConns(0)
	}
	if o.Logins == nil {
		o.Logins = limits.NewLogins(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		be: be, opts: o, log: o.Logger.With("proto", "pop3"),
		ctx: ctx, cancel: cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		locks:     make(map[string]*conn),
	}, nil
}

// Serve accepts plain POP3 connections (port 110, STLS offered when
// Options.TLSConfig is set) on l until Close; it closes l.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

// ServeTLS accepts implicit-TLS connections (port 995, RFC 8314) on l.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("pop3: ServeTLS without Options.TLSConfig")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	var tempDelay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("pop3: accept: %w", err)
		}
		tempDelay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(nc, implicitTLS)
		}()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the listeners, closes every connection (sessions that did not
// QUIT delete nothing) and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// handle runs one connection.
func (s *Server) handle(nc net.Conn, implicitTLS bool) {
	defer nc.Close()
	release, ok := s.opts.Conns.Acquire(nc.RemoteAddr())
	if !ok {
		s.log.Warn("too many connections", "remote", nc.RemoteAddr().String())
		s.refuse(nc, implicitTLS)
		return
	}
	defer release()
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.serve(implicitTLS)
}

// refuse tells a client past the connection limit why it is closed: on
// port 995 inside TLS (RFC 8314), since a TLS client reads nothing else.
func (s *Server) refuse(nc net.Conn, implicitTLS bool) {
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var w io.Writer = nc
	if implicitTLS {
		tc := tls.Server(nc, s.opts.TLSConfig)
		if err := tc.HandshakeContext(s.ctx); err != nil {
			return
		}
		w = tc
	}
	fmt.Fprintf(w, "-ERR [%s] too many connections from your address, try again later\r\n", CodeSysTemp)
}

// lock takes the maildrop lock of account for c; false if another holds it.
func (s *Server) lock(account string, c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.locks[account]; held {
		return false
	}
	s.locks[account] = c
	return true
}

// unlock releases the lock of account if c holds it.
func (s *Server) unlock(account string, c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[account] == c {
		delete(s.locks, account)
	}
}
