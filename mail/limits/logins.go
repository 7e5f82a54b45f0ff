package limits

import (
	"net"
	"strings"
	"sync"
	"time"
)

// LoginOptions configures Logins. The zero value of each field is documented.
type LoginOptions struct {
	// Window is how long a failed login counts; 0 means 15 minutes.
	Window time.Duration
	// MaxPerAddr is how many failures one address (IPv4 or IPv6 /64) may
	// make in Window before its attempts are refused; 0 means 10.
	MaxPerAddr int
	// MaxPerAccount is how many failures, from any address, one account
	// may collect in Window before attempts at it are refused; 0 means 20.
	// A successful login from an address clears that address's failures but
	// not the account's, so a guesser cannot reset the account count.
	MaxPerAccount int
	// MaxEntries bounds each table (addresses, accounts); 0 means 65536.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Logins counts failed logins per address and per account over a sliding
// window and refuses attempts past the limits. It does not log: the protocol
// server that calls it logs each failure with its own context.
type Logins struct {
	opts LoginOptions

	mu       sync.Mutex
	addrs    map[string][]time.Time // guarded by mu: failure times per address key, oldest first
	accounts map[string][]time.Time // guarded by mu: failure times per account, oldest first
}

// NewLogins returns a failed-login limiter; opts may be nil for defaults.
func NewLogins(opts *LoginOptions) *Logins {
	var o LoginOptions
	if opts != nil {
		o = *opts
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.MaxPerAddr <= 0 {
		o.MaxPerAddr = 10
	}
	if o.MaxPerAccount <= 0 {
		o.MaxPerAccount = 20
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 65536
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Logins{opts: o, addrs: make(map[string][]time.Time), accounts: make(map[string][]time.Time)}
}

// accountKey folds case: user names are compared case-insensitively.
func accountKey(account string) string { return strings.ToLower(account) }

// Allow reports whether a login attempt for account from addr may go ahead.
// If not, wait is how long until the oldest counted failure leaves the
// window. An empty account checks the address alone.
func (l *Logins) Allow(addr net.Addr, account string) (wait time.Duration, ok bool) {
	if l == nil {
		return 0, true
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.over(l.addrs, Key(addr), l.opts.MaxPerAddr, now); w > 0 {
		return w, false
	}
	if account != "" {
		if w := l.over(l.accounts, accountKey(account), l.opts.MaxPerAccount, now); w > 0 {
			return w, false
		}
	}
	return 0, true
}

// over prunes t[k] to the window and returns how long until it is under max
// again, or 0 if it is under max now. l.mu must be held.
func (l *Logins) over(t map[string][]time.Time, k string, max int, now time.Time) time.Duration {
	times := prune(t[k], now.Add(-l.opts.Window))
	if len(times) == 0 {
		delete(t, k)
		return 0
	}
	t[k] = times
	if len(times) < max {
		return 0
	}
	return times[len(times)-max].Add(l.opts.Window).Sub(now)
}

// prune drops the times before cut.
func prune(times []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(times) && times[i].Before(cut) {
		i++
	}
	return times[i:]
}

// Failed counts one failed login for account from addr.
func (l *Logins) Failed(addr net.Addr, account string) {
	if l == nil {
		return
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(l.addrs, Key(addr), l.opts.MaxPerAddr, now)
	if account != "" {
		l.add(l.accounts, accountKey(account), l.opts.MaxPerAccount, now)
	}
}

// add records a failure at now under k, keeping at most max times per key
// and at most MaxEntries keys. l.mu must be held.
func (l *Logins) add(t map[string][]time.Time, k string, max int, now time.Time) {
	times := prune(t[k], now.Add(-l.opts.Window))
	if len(times) >= max {
		times = times[len(times)-max+1:]
	}
	if _, exists := t[k]; !exists && len(t) >= l.opts.MaxEntries {
		l.evict(t, now)
	}
	t[k] = append(times, now)
}

// evict drops keys whose failures all left the window, and if none did, the
// key with the oldest latest failure. l.mu must be held.
func (l *Logins) evict(t map[string][]time.Time, now time.Time) {
	cut := now.Add(-l.opts.Window)
	var oldestKey string
	var oldest time.Time
	for k, times := range t {
		last := times[len(times)-1]
		if last.Before(cut) {
			delete(t, k)
			continue
		}
		if oldestKey == "" || last.Before(oldest) {
			oldestKey, oldest = k, last
		}
	}
	if len(t) >= l.opts.MaxEntries && oldestKey != "" {
		delete(t, oldestKey)
	}
}

// Succeeded clears the failures of addr (not of the account: see
// LoginOptions.MaxPerAccount).
func (l *Logins) Succeeded(addr net.Addr, account string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.addrs, Key(addr))
}
