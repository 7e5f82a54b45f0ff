package limits

import (
	"net"
	"sync"
)

// DefaultConnsPerAddr is the number of simultaneous connections one address
// may hold when NewConns is given 0.
const DefaultConnsPerAddr = 20

// Conns limits the simultaneous connections per client address (IPv4
// address or IPv6 /64).
type Conns struct {
	max    int
	exempt func(net.Addr) bool // addresses never limited nor counted; nil: none

	mu   sync.Mutex
	open map[string]int // guarded by mu: open connections per key; no zero entries
}

// NewConns returns a limit of perAddr simultaneous connections per address;
// 0 means DefaultConnsPerAddr, a negative value means no limit.
func NewConns(perAddr int) *Conns {
	if perAddr == 0 {
		perAddr = DefaultConnsPerAddr
	}
	return &Conns{max: perAddr, open: make(map[string]int)}
}

// ConnsOptions configures NewConnsWith. The zero value of each field is
// documented.
type ConnsOptions struct {
	// PerAddr is the number of simultaneous connections per address; 0
	// means DefaultConnsPerAddr, a negative value means no limit.
	PerAddr int
	// Exempt, when set, reports addresses that are neither limited nor
	// counted (IsLoopback, for a development server whose every client is
	// on the same machine); nil exempts none.
	Exempt func(net.Addr) bool
}

// NewConnsWith returns a connection limit configured by opts (nil: the
// defaults, as NewConns(0)).
func NewConnsWith(opts *ConnsOptions) *Conns {
	var o ConnsOptions
	if opts != nil {
		o = *opts
	}
	c := NewConns(o.PerAddr)
	c.exempt = o.Exempt
	return c
}

// PerAddr returns the limit per address; negative means none.
func (c *Conns) PerAddr() int { return c.max }

// Acquire counts one more connection from addr. If addr already holds the
// maximum, ok is false and nothing is counted; otherwise release must be
// called exactly once when the connection ends (later calls do nothing).
func (c *Conns) Acquire(addr net.Addr) (release func(), ok bool) {
	if c == nil || c.max < 0 || (c.exempt != nil && c.exempt(addr)) {
		return func() {}, true
	}
	k := Key(addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[k] >= c.max {
		return nil, false
	}
	c.open[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.open[k]--; c.open[k] <= 0 {
				delete(c.open, k)
			}
		})
	}, true
}

// Open returns the number of connections addr holds now.
func (c *Conns) Open(addr net.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open[Key(addr)]
}

// Listener wraps l so that a connection past the limit of its address is
// closed at once, before any protocol byte is sent, and each accepted
// connection releases its count when closed. Servers that want to answer
// such a client with a protocol error call Acquire themselves instead.
func (c *Conns) Listener(l net.Listener) net.Listener {
	return &listener{Listener: l, conns: c}
}

type listener struct {
	net.Listener
	conns *Conns
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, ok := l.conns.Acquire(nc.RemoteAddr())
		if !ok {
			nc.Close()
			continue
		}
		return &conn{Conn: nc, release: release}, nil
	}
}

type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	c.release()
	return c.Conn.Close()
}
