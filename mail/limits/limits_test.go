package limits

import (
	"net"
	"testing"
	"time"
)

func tcp(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{tcp("192.0.2.7:1234"), "192.0.2.7"},
		{tcp("[::ffff:192.0.2.7]:1"), "192.0.2.7"},
		{tcp("[2001:db8:1:2:3:4:5:6]:25"), "2001:db8:1:2::/64"},
		{tcp("[2001:db8:1:2:ffff::1]:25"), "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "/run/lmtp", Net: "unix"}, "unix:/run/lmtp"},
	}
	for _, tt := range tests {
		if got := Key(tt.addr); got != tt.want {
			t.Errorf("Key(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{tcp("127.0.0.1:1"), true},
		{tcp("127.8.9.10:1"), true},
		{tcp("[::1]:1"), true},
		{tcp("192.168.1.2:1"), false},
		{tcp("[2001:db8::1]:1"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.addr); got != tt.want {
			t.Errorf("IsLoopback(%v) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestConns(t *testing.T) {
	c := NewConns(2)
	a, b := tcp("192.0.2.1:1"), tcp("192.0.2.2:1")
	r1, ok1 := c.Acquire(a)
	_, ok2 := c.Acquire(a)
	_, ok3 := c.Acquire(a)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("Acquire x3 = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if _, ok := c.Acquire(b); !ok {
		t.Fatalf("Acquire(other address) refused")
	}
	r1()
	r1() // a second release must not count twice
	if got := c.Open(a); got != 1 {
		t.Fatalf("Open after release = %d, want 1", got)
	}
	if _, ok := c.Acquire(a); !ok {
		t.Fatalf("Acquire after release refused")
	}
}

func TestConnsListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := NewConns(1)
	ll := c.Listener(l)
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			nc, err := ll.Accept()
			if err != nil {
				return
			}
			accepted <- nc
		}
	}()
	c1, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	s1 := <-accepted
	c2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatalf("second connection from the same address read %d bytes, want it closed", n)
	}
	s1.Close()
	c3, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	select {
	case s3 := <-accepted:
		s3.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("connection after the first closed was not accepted")
	}
}

func TestLogins(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	l := NewLogins(&LoginOptions{Window: time.Minute, MaxPerAddr: 3, MaxPerAccount: 5, Now: func() time.Time { return now }})
	a, b, c := tcp("192.0.2.1:1"), tcp("192.0.2.2:1"), tcp("192.0.2.3:1")

	for i := 0; i < 3; i++ {
		if _, ok := l.Allow(a, "alice"); !ok {
			t.Fatalf("attempt %d refused, want allowed", i)
		}
		l.Failed(a, "alice")
		now = now.Add(time.Second)
	}
	wait, ok := l.Allow(a, "bob")
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("Allow(a) after 3 failures = %v %v, want refused with 0 < wait <= 1m", wait, ok)
	}
	if _, ok := l.Allow(b, "bob"); !ok {
		t.Fatalf("another address was refused")
	}
	// Two more failures on alice from b make 5 for the account.
	l.Failed(b, "alice")
	l.Failed(b, "alice")
	if _, ok := l.Allow(c, "ALICE"); ok {
		t.Fatalf("account over its limit allowed from a third address (case folded)")
	}
	if _, ok := l.Allow(c, "carol"); !ok {
		t.Fatalf("other account from a clean address refused")
	}
	// Success clears the address, not the account.
	l.Succeeded(b, "alice")
	if _, ok := l.Allow(b, "dave"); !ok {
		t.Fatalf("address still refused after success")
	}
	if _, ok := l.Allow(b, "alice"); ok {
		t.Fatalf("account cleared by a success")
	}
	// The window passes.
	now = now.Add(2 * time.Minute)
	if _, ok := l.Allow(a, "alice"); !ok {
		t.Fatalf("still refused after the window")
	}
}

func TestLoginsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLogins(&LoginOptions{MaxEntries: 4, Now: func() time.Time { now = now.Add(time.Millisecond); return now }})
	for i := 0; i < 100; i++ {
		l.Failed(&net.TCPAddr{IP: net.IPv4(10, 0, byte(i>>8), byte(i)), Port: 1}, "")
	}
	if n := len(l.addrs); n > 4 {
		t.Fatalf("address table has %d keys, want at most 4", n)
	}
}

func TestConnsExempt(t *testing.T) {
	c := NewConnsWith(&ConnsOptions{PerAddr: 1, Exempt: IsLoopback})
	lo, lan := tcp("127.0.0.1:1"), tcp("192.0.2.1:1")
	for i := 0; i < 100; i++ {
		if _, ok := c.Acquire(lo); !ok {
			t.Fatalf("loopback connection %d refused, want exempt", i)
		}
	}
	if got := c.Open(lo); got != 0 {
		t.Errorf("Open(loopback) = %d, want 0 (exempt addresses are not counted)", got)
	}
	if _, ok := c.Acquire(lan); !ok {
		t.Fatalf("first LAN connection refused")
	}
	if _, ok := c.Acquire(lan); ok {
		t.Fatalf("second LAN connection allowed, want the limit of 1")
	}
	if got := NewConnsWith(nil).PerAddr(); got != DefaultConnsPerAddr {
		t.Errorf("NewConnsWith(nil).PerAddr() = %d, want %d", got, DefaultConnsPerAddr)
	}
}
