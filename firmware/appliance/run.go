package appliance

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/firmware/diskmgr"
	"github.com/postvault/postvault/mail/certs"
	"github.com/postvault/postvault/mail/imap"
	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/pop3"
	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/store"
)

// Settings keys in the store.
const (
	keyCert = "tls.cert" // PEM certificate chain
	keyKey  = "tls.key"  // PEM private key
)

// Appliance is a running postvault: the array, the store and the servers.
type Appliance struct {
	cfg   *Config
	log   *slog.Logger
	out   io.Writer
	array *raid.Array
	store *store.Store
	addrs Listen           // where each service really listens ("" when off)
	disks *diskmgr.Manager // nil without a board

	logins *limits.Logins // failed logins, shared by every protocol and the status page
	conns  ConnLimits     // the connection limits in force

	closers []func() error // servers and listeners, closed in reverse order
	wg      sync.WaitGroup
	httpSrv *http.Server // the status page, on the HTTP and HTTPS listeners
}

// Start runs the start-up steps and returns a serving appliance. out
// receives the lines meant for the person who started it (the admin
// password at first start, the ready line).
func Start(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) (*Appliance, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
		if cfg.Hostname == "" {
			cfg.Hostname = "postvault"
		}
	}
	ap := &Appliance{cfg: cfg, log: log, out: out, logins: limits.NewLogins(nil)}
	ms, err := openMembers(cfg, log)
	if err != nil {
		return nil, err
	}
	arr, created, err := bringUp(ms, ArrayOptions{CreateOnBlank: true}, log)
	if err != nil {
		return nil, err
	}
	ap.array = arr
	if err := ap.openStore(created); err != nil {
		arr.Close()
		return nil, err
	}
	// From here on Close closes the store, which closes the array.
	if started, err := arr.StartRebuild(context.Background(), nil); err != nil && !errors.Is(err, raid.ErrNothingToRebuild) {
		log.Error("cannot start rebuild", "err", err)
	} else if started {
		log.Info("rebuild started")
	}
	ap.startDisks(ms)
	tlsConf, err := ap.tlsConfig(ctx)
	if err != nil {
		ap.Close()
		return nil, err
	}
	if err := ap.serve(tlsConf); err != nil {
		ap.Close()
		return nil, err
	}
	// The admin account is made, and its password printed, only once every
	// listener is up: a first start that fails (a port in use) must not
	// consume the one showing of the password.
	if err := ap.ensureAdmin(ctx); err != nil {
		ap.Close()
		return nil, err
	}
	ap.ready()
	return ap, nil
}

func (ap *Appliance) openStore(created bool) error {
	opts := &store.Options{Logger: ap.log, Password: ap.cfg.passwordCost}
	st, err := store.Open(ap.array, opts)
	if errors.Is(err, store.ErrNotFormatted) {
		if !created {
			ap.log.Warn("the array holds no mail store; making a new one")
		}
		create := store.CreateSafe // a damaged store is not formatted over
		if created {
			create = store.Create // the array was made just now
		}
		if err := create(ap.array, nil); err != nil {
			return fmt.Errorf("appliance: making the store: %w", err)
		}
		st, err = store.Open(ap.array, opts)
	}
	if err != nil {
		return fmt.Errorf("appliance: opening the store: %w", err)
	}
	ap.store = st
	return nil
}

// ensureAdmin makes the admin account the first time and prints its
// password, once.
func (ap *Appliance) ensureAdmin(ctx context.Context) error {
	if len(ap.store.Users()) > 0 {
		return nil
	}
	b := make([]byte, 12)
	rand.Read(b)
	pw := base64.RawURLEncoding.EncodeToString(b)
	if err := ap.store.AddUser(ctx, ap.cfg.AdminName, pw); err != nil {
		return fmt.Errorf("appliance: making the admin account: %w", err)
	}
	if err := ap.store.SetSetting(ctx, keyAdmin, []byte(ap.cfg.AdminName)); err != nil {
		return fmt.Errorf("appliance: naming the admin account: %w", err)
	}
	fmt.Fprintf(ap.out, "postvault: admin account %s, password %s (shown once; change it with `postvault user passwd`)\n", ap.cfg.AdminName, pw)
	return nil
}

// tlsConfig returns the certificate kept in the store, making a self-signed
// one the first time.
func (ap *Appliance) tlsConfig(ctx context.Context) (*tls.Config, error) {
	c, okC := ap.store.Setting(keyCert)
	k, okK := ap.store.Setting(keyKey)
	if okC && okK {
		h, err := certs.NewHolder(c, k)
		if err == nil {
			return h.TLSConfig(), nil
		}
		ap.log.Error("stored certificate unusable; making a new self-signed one", "err", err)
	}
	c, k, err := certs.SelfSigned([]string{ap.cfg.Hostname, "localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	if err := ap.store.SetSetting(ctx, keyCert, c); err != nil {
		return nil, fmt.Errorf("appliance: keeping the certificate: %w", err)
	}
	if err := ap.store.SetSetting(ctx, keyKey, k); err != nil {
		return nil, fmt.Errorf("appliance: keeping the certificate: %w", err)
	}
	h, err := certs.NewHolder(c, k)
	if err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	return h.TLSConfig(), nil
}

// serve starts every configured service.
func (ap *Appliance) serve(tlsConf *tls.Config) error {
	want := ap.cfg.resolve(func(key string) (string, bool) {
		v, ok := ap.store.Setting(key)
		return string(v), ok
	})
	conns := ap.connLimiters()
	logins := ap.logins
	is, err := imap.New(ap.store, &imap.Options{TLSConfig: tlsConf, AllowPlaintextAuth: ap.cfg.AllowInsecureAuth,
		Conns: conns.imap, Logins: logins, Logger: ap.log})
	if err != nil {
		return err
	}
	ap.closers = append(ap.closers, is.Close)
	ps, err := pop3.New(pop3.NewStoreBackend(ap.store), &pop3.Options{TLSConfig: tlsConf, AllowInsecureAuth: ap.cfg.AllowInsecureAuth,
		Hostname: ap.cfg.Hostname, Conns: conns.pop3, Logins: logins, Logger: ap.log})
	if err != nil {
		return err
	}
	ap.closers = append(ap.closers, ps.Close)
	ss, err := smtp.New(smtp.NewStoreBackend(ap.store), &smtp.Options{Hostname: ap.cfg.Hostname, TLSConfig: tlsConf, Conns: conns.smtp, Logger: ap.log})
	if err != nil {
		return err
	}
	ap.closers = append(ap.closers, ss.Close)
	ls, err := smtp.New(smtp.NewStoreBackend(ap.store), &smtp.Options{LMTP: true, Hostname: ap.cfg.Hostname,
		Conns: conns.lmtp, Logger: ap.log})
	if err != nil {
		return err
	}
	ap.closers = append(ap.closers, ls.Close)

	type svc struct {
		addr  string
		dst   *string
		tls   bool
		serve func(net.Listener) error
	}
	list := []svc{
		{want.IMAP, &ap.addrs.IMAP, false, is.Serve},
		{want.IMAPS, &ap.addrs.IMAPS, true, is.Serve},
		{want.POP3, &ap.addrs.POP3, false, ps.Serve},
		{want.POP3S, &ap.addrs.POP3S, false, ps.ServeTLS},
		{want.SMTP, &ap.addrs.SMTP, false, ss.Serve},
		{want.LMTP, &ap.addrs.LMTP, false, ls.Serve},
	}
	for _, s := range list {
		if s.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("appliance: listening on %s: %w", s.addr, err)
		}
		*s.dst = l.Addr().String()
		if s.tls {
			l = tls.NewListener(l, tlsConf)
		}
		ap.closers = append(ap.closers, l.Close)
		ap.wg.Add(1)
		go func() {
			defer ap.wg.Done()
			if err := s.serve(l); err != nil && !isClosedErr(err) {
				ap.log.Error("server stopped", "addr", s.addr, "err", err)
			}
		}()
	}
	if err := ap.serveHTTP(want, tlsConf); err != nil {
		return err
	}
	return nil
}

// connLimiters are the per-protocol connection limits of serve.
type connLimiters struct{ imap, pop3, smtp, lmtp *limits.Conns }

// connLimiters resolves the limits (flag, setting, default) and makes one
// limiter per protocol; in development mode loopback is exempt (see
// Config).
func (ap *Appliance) connLimiters() connLimiters {
	ap.conns = ap.cfg.resolveConns(func(key string) (string, bool) {
		v, ok := ap.store.Setting(key)
		return string(v), ok
	}, func(key, value string) {
		ap.log.Warn("connection limit setting is not a non-zero number; using the default", "key", key, "value", value)
	})
	var exempt func(net.Addr) bool
	if ap.cfg.Dev != "" {
		exempt = limits.IsLoopback
	}
	ap.log.Info("connections per client address", "imap", ap.conns.IMAP, "pop3", ap.conns.POP3,
		"smtp", ap.conns.SMTP, "lmtp", ap.conns.LMTP, "loopback_exempt", exempt != nil)
	mk := func(n int) *limits.Conns {
		return limits.NewConnsWith(&limits.ConnsOptions{PerAddr: n, Exempt: exempt})
	}
	return connLimiters{imap: mk(ap.conns.IMAP), pop3: mk(ap.conns.POP3), smtp: mk(ap.conns.SMTP), lmtp: mk(ap.conns.LMTP)}
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "closed")
}

// ReadyLine is the line written when every service listens.
func (ap *Appliance) ReadyLine() string {
	var b strings.Builder
	b.WriteString("postvault: ready")
	for _, s := range ap.addrs.services() {
		if *s.Addr != "" {
			fmt.Fprintf(&b, " %s=%s", s.Name, *s.Addr)
		}
	}
	return b.String()
}

// Addrs returns where each service listens.
func (ap *Appliance) Addrs() Listen { return ap.addrs }

func (ap *Appliance) ready() {
	line := ap.ReadyLine()
	fmt.Fprintln(ap.out, line)
	if ap.cfg.Console != "" {
		if f, err := os.OpenFile(ap.cfg.Console, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		} else {
			ap.log.Warn("cannot write the ready line to the console", "err", err)
		}
	}
}

// Close stops the servers, writes a checkpoint and closes the store and the
// array cleanly.
func (ap *Appliance) Close() error {
	if ap.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ap.httpSrv.Shutdown(ctx)
		cancel()
	}
	for i := len(ap.closers) - 1; i >= 0; i-- {
		ap.closers[i]()
	}
	ap.wg.Wait()
	var errs []error
	if ap.array != nil {
		ap.array.StopRebuild()
	}
	// The store owns the volume once opened: its Close checkpoints and
	// closes the array (marked clean). Without a store, close the array.
	if ap.store != nil {
		errs = append(errs, ap.store.Close())
	} else if ap.array != nil {
		errs = append(errs, ap.array.Close())
	}
	return errors.Join(errs...)
}
