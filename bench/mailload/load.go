package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// A load runs n clients against one server until a deadline or until each
// client has done its share of operations, whichever comes first. Every
// operation is one protocol round trip (or one delivery) and is timed on
// its own; an operation that fails is counted as an error, not as an op.

// result is what one load measured.
type result struct {
	ops    int
	wall   time.Duration
	lat    map[string][]time.Duration // per kind of operation
	setup  map[string][]time.Duration // per kind, before the window (IMAP LOGIN)
	errs   int
	errMsg string // the first error, for the report
}

// opsPerSec is the completed operations per second of wall time.
func (r *result) opsPerSec() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.ops) / r.wall.Seconds()
}

// kinds is " kind n p50 p99;" for every kind of operation, in name order.
func (r *result) kinds() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r.lat)) {
		fmt.Fprintf(&b, " %s %d %v %v;", k, len(r.lat[k]), r.pKind(k, 0.5).Round(100*time.Microsecond), r.pKind(k, 0.99).Round(100*time.Microsecond))
	}
	return b.String()
}

// all returns every latency, sorted.
func (r *result) all() []time.Duration {
	var all []time.Duration
	for _, l := range r.lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	return all
}

// p returns the q-quantile (0..1) of every operation's latency.
func (r *result) p(q float64) time.Duration { return quantile(r.all(), q) }

// pKind returns the q-quantile of one kind of operation, in the window and
// before it.
func (r *result) pKind(kind string, q float64) time.Duration {
	l := append(slices.Clone(r.lat[kind]), r.setup[kind]...)
	slices.Sort(l)
	return quantile(l, q)
}

// quantile of sorted durations, nearest rank; 0 for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// client is one simulated mail client: its number, its source address and
// its own latency record.
type client struct {
	id       int
	deadline time.Time // set when the measured window opens
	maxOps   int
	ops      int
	lat      map[string][]time.Duration
	setupLat map[string][]time.Duration // ops before the window opened
	errs     int
	firstErr error

	readyOnce sync.Once
	readyWG   *sync.WaitGroup
	start     <-chan struct{}
	started   bool
}

// ready tells the load that the client has done its setup (an IMAP client
// its LOGIN) and waits until every client has: the measured window opens
// then. Ops before it are kept apart (setupLat), not counted.
func (c *client) ready() {
	c.readyOnce.Do(func() {
		if c.readyWG == nil { // a client outside runLoad
			c.started = true
			return
		}
		c.readyWG.Done()
		<-c.start
		c.started = true
	})
}

// done reports whether the client must stop: out of time or out of ops.
func (c *client) done() bool {
	return c.ops >= c.maxOps || !time.Now().Before(c.deadline)
}

// op times fn as one operation of the given kind. It returns fn's error,
// which is also counted.
func (c *client) op(kind string, fn func() error) error {
	start := time.Now()
	err := fn()
	d := time.Since(start)
	if err != nil {
		c.errs++
		if c.firstErr == nil {
			c.firstErr = fmt.Errorf("%s: %w", kind, err)
		}
		return err
	}
	if !c.started {
		c.setupLat[kind] = append(c.setupLat[kind], d)
		return nil
	}
	c.ops++
	c.lat[kind] = append(c.lat[kind], d)
	return nil
}

// dial connects to addr from the client's own loopback source address
// (127.0.1.x): postvault, like any server facing the Internet, limits
// connections per client address, and 50 real users come from 50 hosts.
func (c *client) dial(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: sourceIP(c.id)}}
	return d.Dial("tcp", addr)
}

// sourceIP is client id's loopback address: 127.0.1.1, 127.0.1.2, ...
func sourceIP(id int) net.IP {
	return net.IPv4(127, 0, byte(1+id/250), byte(1+id%250))
}

// runLoad runs n clients, each calling body until it returns, and merges
// what they measured. body must call c.ready() once its setup is done and
// then stop when c.done() says so. The window (wall time, deadline) opens
// once every client is ready.
func runLoad(n int, d time.Duration, maxOpsPerClient int, body func(c *client)) *result {
	clients := make([]*client, n)
	var ready, wg sync.WaitGroup
	startc := make(chan struct{})
	ready.Add(n)
	for i := range clients {
		c := &client{id: i, maxOps: maxOpsPerClient, lat: map[string][]time.Duration{},
			setupLat: map[string][]time.Duration{}, readyWG: &ready, start: startc}
		clients[i] = c
		wg.Go(func() {
			defer c.ready() // a client whose setup failed still opens the window
			body(c)
		})
	}
	ready.Wait()
	start := time.Now()
	for _, c := range clients {
		c.deadline = start.Add(d)
	}
	close(startc)
	wg.Wait()
	r := &result{wall: time.Since(start), lat: map[string][]time.Duration{}, setup: map[string][]time.Duration{}}
	for _, c := range clients {
		r.ops += c.ops
		r.errs += c.errs
		if c.firstErr != nil && r.errMsg == "" {
			r.errMsg = c.firstErr.Error()
		}
		for k, l := range c.lat {
			r.lat[k] = append(r.lat[k], l...)
		}
		for k, l := range c.setupLat {
			r.setup[k] = append(r.setup[k], l...)
		}
	}
	return r
}

// message is a test message of about size bytes: unique headers (so that
// no server can store two deliveries as one) and a body of CRLF lines
// mixing ASCII and Cyrillic text, shared between messages of one size.
type message struct {
	body    []byte
	stuffed []byte // body dot-stuffed for DATA (see wire)
}

func newMessage(size int) *message {
	var b bytes.Buffer
	line := "Съешь же ещё этих мягких французских булок, да выпей чаю. The quick brown fox 0123456789\r\n"
	for b.Len() < size-400 {
		b.WriteString(line)
	}
	m := &message{body: b.Bytes()}
	m.stuffed, _ = dotStuff(bytes.NewReader(m.body))
	return m
}

// wire returns message number n for rcpt as DATA's payload (dot-stuffed,
// ending in CRLF, without the final dot), in two parts: the header and
// the body, which is the same for every message of this size.
func (m *message) wire(rcpt string, n int64) [][]byte {
	h, _ := dotStuff(strings.NewReader(m.header(rcpt, n)))
	return [][]byte{h, m.stuffed}
}

// reader returns message number n for rcpt.
func (m *message) reader(rcpt string, n int64) io.Reader {
	return io.MultiReader(strings.NewReader(m.header(rcpt, n)), bytes.NewReader(m.body))
}

// header returns the header of message number n for rcpt, with the blank
// line that ends it.
func (m *message) header(rcpt string, n int64) string {
	return fmt.Sprintf("From: Load <load@bench.test>\r\nTo: <%s>\r\nSubject: bench %d\r\n"+
		"Date: %s\r\nMessage-ID: <%d.%d@bench.test>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		rcpt, n, time.Now().Format(time.RFC1123Z), n, time.Now().UnixNano())
}

// bytes returns message number n for rcpt as one slice (IMAP APPEND needs
// the size first).
func (m *message) bytes(rcpt string, n int64) []byte {
	b, _ := io.ReadAll(m.reader(rcpt, n))
	return b
}
