package imap

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

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/store"
)

// DefaultAppendLimit is the largest message APPEND takes when
// Options.AppendLimit is 0 (RFC 7889).
const DefaultAppendLimit = 50 << 20

// Options configure New. The zero value of each field is documented; a nil
// *Options is the zero Options.
type Options struct {
	// TLSConfig serves STARTTLS (RFC 9051 section 6.2.1). nil: no
	// STARTTLS, so that clients off loopback can log in only with
	// AllowPlaintextAuth. Implicit TLS (port 993, RFC 8314) is the caller
	// wrapping the listener with tls.NewListener; connections that Accept
	// returns as *tls.Conn count as secure (so that wrapper must be the
	// outermost).
	TLSConfig *tls.Config
	// AllowPlaintextAuth allows LOGIN and AUTHENTICATE PLAIN without TLS
	// from any address (a trusted LAN). false: only over TLS or from
	// loopback.
	AllowPlaintextAuth bool
	// AppendLimit is the largest message APPEND accepts, in bytes; larger
	// literals are refused before a byte of them is read. 0:
	// DefaultAppendLimit.
	AppendLimit uint32
	// MaxCommandsBeforeLogin closes a connection that sends more command
	// lines than this before it authenticates; 0: 30.
	MaxCommandsBeforeLogin int
	// MaxBytesBeforeLogin closes a connection that sends more bytes than
	// this before it authenticates (TLS handshakes included); 0: 64 KiB.
	MaxBytesBeforeLogin int64
	// LoginTimeout closes a connection that has not authenticated after
	// this long; 0: 2 minutes.
	LoginTimeout time.Duration
	// Conns limits simultaneous connections per client address; nil: a
	// limit of limits.DefaultConnsPerAddr for this server alone.
	Conns *limits.Conns
	// Logins limits failed logins per address and per account; nil: a
	// limiter with default options for this server alone. Share one with the
	// other protocols so that a guesser gains nothing by switching.
	Logins *limits.Logins
	// Logger receives a line per login, failed login and unexpected error;
	// nil: slog.Default().
	Logger *slog.Logger
	// DebugWriter, when set, receives every byte read and written
	// (credentials included); for tests only.
	DebugWriter io.Writer
}

// Server is an IMAP server on a mail store. Serve may be called for several
// listeners at once.
type Server struct {
	st   *store.Store
	opts Options
	log  *slog.Logger

	// authenticate is st.Authenticate; tests replace it (export_test.go)
	// before serving.
	authenticate func(ctx context.Context, user, password, remote string) (*store.Account, error)
	// refuseTimeout bounds the whole refusal of a connection over the
	// limit, TLS handshake included; tests shorten it.
	refuseTimeout time.Duration

	// The library decides per server whether LOGIN is allowed (the
	// connection is a *tls.Conn, or InsecureAuth) and whether STARTTLS is
	// offered (TLSConfig set, connection not a *tls.Conn). We decide per
	// connection (implicit TLS, loopback, configuration) and wrap every
	// connection, so three library servers share the work, indexed by the
	// lib constants.
	libs      [numLibs]*imapserver.Server
	libLns    [numLibs]*chanListener
	libDone   sync.WaitGroup
	serveDone sync.WaitGroup

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	closed    bool                      // guarded by mu
}

// New returns a server on st. It serves nothing until Serve is called.
func New(st *store.Store, opts *Options) (*Server, error) {
	if st == nil {
		return nil, errors.New("imap: nil store")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.AppendLimit == 0 {
		o.AppendLimit = DefaultAppendLimit
	}
	if o.MaxCommandsBeforeLogin < 0 || o.MaxBytesBeforeLogin < 0 || o.LoginTimeout < 0 {
		return nil, errors.New("imap: negative limit in options")
	}
	if o.MaxCommandsBeforeLogin == 0 {
		o.MaxCommandsBeforeLogin = 30
	}
	if o.MaxBytesBeforeLogin == 0 {
		o.MaxBytesBeforeLogin = 64 << 10
	}
	if o.LoginTimeout == 0 {
		o.LoginTimeout = 2 * time.Minute
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
	s := &Server{
		st:            st,
		opts:          o,
		log:           o.Logger,
		authenticate:  st.Authenticate,
		refuseTimeout: 5 * time.Second,
		listeners:     make(map[net.Listener]struct{}),
	}
	for i := range s.libs {
		s.libs[i] = imapserver.New(s.libOptions(i))
		s.libLns[i] = newChanListener()
		s.libDone.Add(1)
		go s.runLib(s.libs[i], s.libLns[i])
	}
	return s, nil
}

// The library servers: which connections each one takes.
const (
	libPlainOpen    = iota // plaintext; LOGIN allowed (loopback, AllowPlaintextAuth); STARTTLS offered
	libPlainGuarded        // plaintext; LOGIN only after STARTTLS
	libTLS                 // implicit TLS: LOGIN allowed, no STARTTLS
	numLibs
)

// capabilities lists what we offer beyond what the library adds on its own
// (SASL-IR, LITERAL-, ENABLE, IDLE, UNSELECT, UTF8=ACCEPT, STARTTLS,
// APPENDLIMIT through SessionAppendLimit).
var capabilities = imap.CapSet{
	imap.CapIMAP4rev1:        {},
	imap.CapIMAP4rev2:        {},
	imap.CapNamespace:        {},
	imap.CapUIDPlus:          {},
	imap.CapESearch:          {},
	imap.CapSearchRes:        {},
	imap.CapListExtended:     {},
	imap.CapListStatus:       {},
	imap.CapMove:             {},
	imap.CapStatusSize:       {},
	imap.CapBinary:           {},
	imap.CapChildren:         {},
	imap.CapSpecialUse:       {},
	imap.CapCreateSpecialUse: {},
	imap.CapLiteralPlus:      {},
	imap.CapUnauthenticate:   {},
}

func (s *Server) libOptions(lib int) *imapserver.Options {
	o := &imapserver.Options{
		NewSession:   s.newSession,
		Caps:         capabilities,
		Logger:       libLogger{s.log},
		TLSConfig:    s.opts.TLSConfig,
		InsecureAuth: lib != libPlainGuarded,
		DebugWriter:  s.opts.DebugWriter,
	}
	if lib == libTLS {
		o.TLSConfig = nil
	}
	return o
}

func (s *Server) runLib(lib *imapserver.Server, ln *chanListener) {
	defer s.libDone.Done()
	if err := lib.Serve(ln); err != nil && !s.isClosed() {
		s.log.Error("imap: library server stopped", "err", err)
	}
}

// Serve accepts connections on ln until ln fails or Close is called. It
// refuses a connection past the per-address limit with a BYE.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("imap: server closed")
	}
	s.listeners[ln] = struct{}{}
	s.serveDone.Add(1)
	s.mu.Unlock()
	defer s.serveDone.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imap: accept: %w", err)
		}
		delay = 0
		s.dispatch(c)
	}
}

// dispatch hands c to the library server whose authentication policy fits
// it, after the connection limit.
func (s *Server) dispatch(c net.Conn) {
	release, ok := s.opts.Conns.Acquire(c.RemoteAddr())
	if !ok {
		s.log.Warn("imap: too many connections", "remote", c.RemoteAddr().String())
		// One deadline for reads and writes: on implicit TLS the write
		// first runs the handshake, which reads, and a client that never
		// sends its hello must not hold the goroutine and the socket.
		go func() {
			c.SetDeadline(time.Now().Add(s.refuseTimeout))
			io.WriteString(c, "* BYE [UNAVAILABLE] Too many connections from your address\r\n")
			c.Close()
		}()
		return
	}
	_, isTLS := c.(*tls.Conn)
	g := newGuardConn(c, isTLS, release, s.opts.MaxCommandsBeforeLogin, s.opts.MaxBytesBeforeLogin, s.opts.LoginTimeout)
	switch {
	case isTLS:
		s.libLns[libTLS].push(g)
	case s.opts.AllowPlaintextAuth || limits.IsLoopback(c.RemoteAddr()):
		s.libLns[libPlainOpen].push(g)
	default:
		s.libLns[libPlainGuarded].push(g)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every listener given to Serve and closes every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	for ln := range s.listeners {
		if cerr := ln.Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	s.mu.Unlock()
	s.serveDone.Wait()
	// Stop the library servers' accept loops first, then close their
	// connections: the library's Close must not overlap its Serve's start
	// (a WaitGroup Add racing a Wait).
	for _, ln := range s.libLns {
		ln.Close()
	}
	s.libDone.Wait()
	for _, lib := range s.libs {
		lib.Close()
	}
	return err
}

// libLogger sends the library's messages to slog.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	l.log.Warn("imap: " + fmt.Sprintf(format, args...))
}

// chanListener is a net.Listener fed by Server.dispatch.
type chanListener struct {
	c    chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{c: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.c <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return chanAddr{} }

type chanAddr struct{}

func (chanAddr) Network() string { return "imap" }
func (chanAddr) String() string  { return "imap" }
