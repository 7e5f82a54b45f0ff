package appliance

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/postvault/postvault/mail/store"
)

// Listen addresses of every service. An empty address turns a service off.
type Listen struct {
	IMAP, IMAPS, POP3, POP3S, SMTP, LMTP, HTTP, HTTPS string
}

// services names each address for printing, settings keys and flags, in the
// order they are printed.
func (l *Listen) services() []struct {
	Name string
	Addr *string
} {
	return []struct {
		Name string
		Addr *string
	}{
		{"imap", &l.IMAP}, {"imaps", &l.IMAPS}, {"pop3", &l.POP3}, {"pop3s", &l.POP3S},
		{"smtp", &l.SMTP}, {"lmtp", &l.LMTP}, {"http", &l.HTTP}, {"https", &l.HTTPS},
	}
}

// Defaults for the appliance (standard ports on every address) and for
// development mode (loopback high ports, so no root is needed and nothing is
// exposed on the LAN).
var (
	applianceListen = Listen{
		IMAP: ":143", IMAPS: ":993", POP3: ":110", POP3S: ":995",
		SMTP: ":25", LMTP: ":24", HTTP: ":80", HTTPS: ":443",
	}
	devListen = Listen{
		IMAP: "127.0.0.1:10143", IMAPS: "127.0.0.1:10993", POP3: "127.0.0.1:10110",
		POP3S: "127.0.0.1:10995", SMTP: "127.0.0.1:10025", LMTP: "127.0.0.1:10024",
		HTTP: "127.0.0.1:10080",
		// No HTTPS by default: the page is on loopback, where the admin
		// password may be sent in the clear, and tools that start serve
		// with their own ports need not know of one more.
	}
)

// ConnLimits are the simultaneous connections one client address (IPv4
// address or IPv6 /64, see limits.Key) may hold, per protocol: IMAP and IMAPS
// share one count, POP3 and POP3S another, SMTP and LMTP each have their
// own. A negative value means no limit; 0 means "not given" (the next
// source in the precedence decides).
type ConnLimits struct {
	IMAP, POP3, SMTP, LMTP int
}

// services names each limit for flags (--imap-conns) and settings keys
// (serve.imap-conns).
func (c *ConnLimits) services() []struct {
	Name string
	N    *int
} {
	return []struct {
		Name string
		N    *int
	}{{"imap", &c.IMAP}, {"pop3", &c.POP3}, {"smtp", &c.SMTP}, {"lmtp", &c.LMTP}}
}

// defaultConnLimits fit an appliance behind NAT, where a household or an
// office shares one public address: a mail client keeps several IMAP
// connections open (one per watched folder), so IMAP allows the most;
// POP3 and SMTP sessions are short. LMTP usually comes from one front
// mail server that delivers in parallel.
var defaultConnLimits = ConnLimits{IMAP: 50, POP3: 20, SMTP: 20, LMTP: 100}

// Config is everything `postvault serve` runs with.
//
// Precedence, the one place it is written down: a flag given on the command
// line wins; otherwise the setting stored in the mail store under
// "serve.<name>" (for example "serve.imap" = "0.0.0.0:143", set by the web UI
// or an admin); otherwise the default, which is devListen in development
// mode and applianceListen on the box. The member disks are never a setting:
// they are found (box) or named (--dev, --member).
//
// The connection limits per client address follow the same order: flag
// (--imap-conns, --pop3-conns, --smtp-conns, --lmtp-conns), then the setting
// "serve.imap-conns" (and so on; a decimal number, negative for no limit),
// then defaultConnLimits (IMAP 50, POP3 20, SMTP 20, LMTP 100). In
// development mode loopback clients are exempt from these limits (every
// client of a development server is on the same machine: tests and
// benchmarks open dozens of connections from 127.0.0.1, and a limit there
// protects nothing, since whoever reaches loopback can read the member
// files); clients on other addresses are limited as on the box. The
// failed-login limits (limits.Logins) apply everywhere, loopback included.
//
// The HTTP status page shows the array read-only to anyone who reaches
// it; requests that change state (POST) need the admin account's password
// (see auth.go). Plaintext passwords are accepted only over loopback,
// unless AllowInsecureAuth (--allow-insecure-auth) allows the LAN, as for
// the mail protocols.
type Config struct {
	// Dev is the folder with the development member files disk0.img to
	// disk4.img; "" means appliance mode (real disks).
	Dev string
	// Members are explicit member paths (files or block devices), used
	// instead of --dev's files or discovery when given.
	Members []string
	// Listen holds the addresses given as flags; empty fields fall back to
	// the store's settings, then to the defaults.
	Listen Listen
	// Conns holds the connection limits given as flags; zero fields fall
	// back to the store's settings, then to defaultConnLimits.
	Conns ConnLimits
	// Hostname is used in greetings, Received lines and the certificate.
	Hostname string
	// AllowInsecureAuth permits plaintext logins without TLS from the LAN
	// (loopback is always allowed).
	AllowInsecureAuth bool
	// DiskSize is the size of each development member file made the first
	// time.
	DiskSize int64
	// Console, when set, receives the ready line (on the box /dev/console).
	Console string
	// AdminName is the account made at first start, whose password is
	// printed once.
	AdminName string
	// Board is the board profile name or board file whose bays and LEDs
	// the disk manager drives; "" means the simulated board in development
	// mode, none with --members, and detection on the box.
	Board string

	// passwordCost, when set (tests), is the argon2id cost of the
	// passwords made by this start; zero: the store's default.
	passwordCost store.PasswordCost
}

// ParseFlags parses serve's arguments into a Config.
func ParseFlags(args []string, fs *flag.FlagSet) (*Config, error) {
	c := &Config{}
	fs.StringVar(&c.Dev, "dev", "", "development mode: keep five member files `DIR`/disk0.img..disk4.img (created the first time as RAID-6)")
	var members string
	fs.StringVar(&members, "members", "", "comma-separated member `PATHS` (files or block devices) instead of --dev or discovery")
	for _, s := range c.Listen.services() {
		fs.StringVar(s.Addr, s.Name, "", "listen `ADDRESS` for "+strings.ToUpper(s.Name)+` ("off" disables it)`)
	}
	for _, s := range c.Conns.services() {
		fs.IntVar(s.N, s.Name+"-conns", 0, "simultaneous "+strings.ToUpper(s.Name)+" connections per client address (`N`; -1: no limit; default "+strconv.Itoa(*defaultConnLimits.get(s.Name))+")")
	}
	fs.StringVar(&c.Hostname, "hostname", "", "host name for greetings and the certificate (default: the system's)")
	fs.BoolVar(&c.AllowInsecureAuth, "allow-insecure-auth", false, "allow plaintext logins without TLS from the LAN (loopback is always allowed)")
	fs.Int64Var(&c.DiskSize, "disk-size", 1<<30, "size in `BYTES` of each development member file created the first time")
	fs.StringVar(&c.Console, "console", "", "write the ready line also to this `FILE` (the box uses /dev/console)")
	fs.StringVar(&c.Board, "board", "", "board `PROFILE|FILE` for the bays and LEDs (default: simulated with --dev, detected on the box)")
	fs.StringVar(&c.AdminName, "admin", "postmaster@postvault.local", "`ADDRESS` of the admin account made at first start")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if members != "" {
		c.Members = strings.Split(members, ",")
	}
	if c.Dev != "" && len(c.Members) > 0 {
		return nil, fmt.Errorf("--dev and --members exclude each other")
	}
	return c, nil
}

// resolve fills every empty listen address: a stored setting first, then the
// default for the mode. "off" turns a service off.
func (c *Config) resolve(setting func(key string) (string, bool)) Listen {
	def := applianceListen
	if c.Dev != "" {
		def = devListen
	}
	out := c.Listen
	defs := def.services()
	for i, s := range out.services() {
		if *s.Addr == "" {
			if v, ok := setting("serve." + s.Name); ok && v != "" {
				*s.Addr = v
			} else {
				*s.Addr = *defs[i].Addr
			}
		}
		if *s.Addr == "off" {
			*s.Addr = ""
		}
	}
	return out
}

// get returns the field named name.
func (c *ConnLimits) get(name string) *int {
	for _, s := range c.services() {
		if s.Name == name {
			return s.N
		}
	}
	panic("appliance: no connection limit " + name)
}

// resolveConns fills every connection limit not given as a flag: a stored
// setting "serve.<name>-conns" first, then the default. A setting that is
// not a number is logged by the caller through bad and ignored.
func (c *Config) resolveConns(setting func(key string) (string, bool), bad func(key, value string)) ConnLimits {
	out := c.Conns
	for _, s := range out.services() {
		if *s.N != 0 {
			continue
		}
		key := "serve." + s.Name + "-conns"
		if v, ok := setting(key); ok && v != "" {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n != 0 {
				*s.N = n
				continue
			}
			bad(key, v)
		}
		*s.N = *defaultConnLimits.get(s.Name)
	}
	return out
}
