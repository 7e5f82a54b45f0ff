package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/postvault/postvault/mail/limits"
)

// Options configures a Server. The zero value of each field is documented;
// a nil *Options is the zero Options.
type Options struct {
	// LMTP serves LMTP (RFC 2033) instead of SMTP.
	LMTP bool
	// Hostname is our name in the greeting and in Received fields;
	// "": os.Hostname().
	Hostname string
	// TLSConfig enables STARTTLS (RFC 3207); nil: no STARTTLS.
	TLSConfig *tls.Config
	// MaxMessageBytes is the size limit advertised (SIZE) and enforced;
	// 0: 64 MiB.
	MaxMessageBytes int64
	// MaxRecipients per message; 0: 100 (RFC 5321 section 4.5.3.1.8).
	MaxRecipients int
	// Timeout drops a client that sends nothing, or reads nothing, for this
	// long; 0: 5 minutes (RFC 5321 section 4.5.3.2).
	Timeout time.Duration
	// Conns limits connections per client address; nil: a limit of
	// limits.DefaultConnsPerAddr for this server alone.
	Conns *limits.Conns
	// Logger receives a line per delivery and per refusal; nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock for Received dates; nil: time.Now.
	Now func() time.Time

	byteData bool // tests and benchmarks: DATA through go-smtp's reader
}

// Server is an SMTP or LMTP server delivering into a Backend.
type Server struct {
	be     Backend
	opts   Options
	log    *slog.Logger
	srv    *gosmtp.Server
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a server on be.
func New(be Backend, opts *Options) (*Server, error) {
	if be == nil {
		return nil, errors.New("smtp: nil backend")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxMessageBytes < 0 || o.MaxRecipients < 0 || o.Timeout < 0 {
		return nil, errors.New("smtp: negative limit in options")
	}
	if o.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		o.Hostname = h
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = 64 << 20
	}
	if o.MaxRecipients == 0 {
		o.MaxRecipients = 100
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Conns == nil {
		o.Conns = limits.NewConns(0)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	proto := "smtp"
	if o.LMTP {
		proto = "lmtp"
	}
	s := &Server{be: be, opts: o, log: o.Logger.With("proto", proto)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	gs := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	gs.LMTP = o.LMTP
	gs.Domain = o.Hostname
	gs.TLSConfig = o.TLSConfig
	gs.MaxMessageBytes = o.MaxMessageBytes
	gs.MaxRecipients = o.MaxRecipients
	gs.ReadTimeout = o.Timeout
	gs.WriteTimeout = o.Timeout
	gs.EnableSMTPUTF8 = true // we store octets as received; UTF-8 needs nothing more
	gs.ErrorLog = logAdapter{s.log}
	s.srv = gs
	return s, nil
}

// Serve accepts connections on l (TCP or a Unix socket) until Close.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(&limitListener{Listener: l, conns: s.opts.Conns, log: s.log, timeout: s.opts.Timeout, byteData: s.opts.byteData})
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("smtp: server closed")

// Close stops the listeners and closes every connection; a message whose
// DATA was not answered yet was not acknowledged, so the sender retries.
func (s *Server) Close() error {
	s.cancel()
	return s.srv.Close()
}

// limitListener answers a connection past its address's limit with 421 and
// closes it, and gives go-smtp every other connection as a lineConn.
type limitListener struct {
	net.Listener
	conns    *limits.Conns
	log      *slog.Logger
	timeout  time.Duration
	byteData bool // Options.byteData: lineConns that pass bytes through
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, ok := l.conns.Acquire(nc.RemoteAddr())
		if ok {
			lc := newLineConn(nc, release, l.timeout)
			lc.passthrough = l.byteData
			return lc, nil
		}
		l.log.Warn("too many connections", "remote", nc.RemoteAddr().String())
		// Answered on its own goroutine so that a client that does not
		// read cannot hold up the accept loop.
		go func() {
			nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprint(nc, "421 4.7.0 too many connections from your address, try again later\r\n")
			nc.Close()
		}()
	}
}

// logAdapter gives go-smtp's own messages to slog.
type logAdapter struct{ log *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a logAdapter) Println(v ...any)               { a.log.Warn(fmt.Sprint(v...)) }
