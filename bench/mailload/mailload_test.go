package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var d []time.Duration
		for _, x := range xs {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of three", ms(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p100 of 100", ms(hundred...), 1, 100 * time.Millisecond},
		{"p99 of 10 is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 50), 0.99, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := quantile(tt.in, tt.q); got != tt.want {
			t.Errorf("%s: quantile(%v) = %v, want %v", tt.name, tt.q, got, tt.want)
		}
	}
}

// TestPOP3Client runs the load's POP3 client against a scripted server:
// multi-line answers are unstuffed and end at the lone dot, -ERR is an
// error.
func TestPOP3Client(t *testing.T) {
	cs, ss := net.Pipe()
	defer cs.Close()
	go func() {
		defer ss.Close()
		r := bufio.NewReader(ss)
		io.WriteString(ss, "+OK ready\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.TrimSpace(line) {
			case "LIST":
				io.WriteString(ss, "+OK 2 messages\r\n1 120\r\n2 4500\r\n.\r\n")
			case "RETR 1":
				io.WriteString(ss, "+OK\r\nSubject: x\r\n\r\n..dot-stuffed\r\nbody\r\n.\r\n")
			case "DELE 9":
				io.WriteString(ss, "-ERR [SYS/PERM] no such message\r\n")
			default:
				io.WriteString(ss, "+OK\r\n")
			}
		}
	}()
	p, err := newPOP3(cs)
	if err != nil {
		t.Fatal(err)
	}
	lines, _, err := p.multi(false, "LIST")
	if err != nil || strings.Join(lines, "|") != "1 120|2 4500" {
		t.Fatalf("LIST = %q, %v", lines, err)
	}
	lines, n, err := p.multi(false, "RETR 1")
	if err != nil || len(lines) != 4 || lines[2] != ".dot-stuffed" {
		t.Fatalf("RETR 1 = %q, %v", lines, err)
	}
	if n != len("Subject: x\r\n\r\n..dot-stuffed\r\nbody\r\n") {
		t.Errorf("RETR 1 counted %d bytes", n)
	}
	if _, err := p.cmd("DELE 9"); err == nil || !strings.Contains(err.Error(), "no such message") {
		t.Errorf("DELE 9: err = %v, want the -ERR line", err)
	}
	if _, err := p.cmd("NOOP"); err != nil {
		t.Errorf("NOOP after -ERR: %v", err)
	}
}

// TestSmoke runs every load for a moment against both servers (the -short
// run): each cell must complete operations on both and fail none. It
// takes about a minute on the shared 2-core machine (building postvault,
// creating its array, starting Dovecot), so it is left out of `make test`:
// it runs with POSTVAULT_BENCH_SMOKE=1 or POSTVAULT_EXHAUSTIVE=1, and skips
// when Dovecot is not installed.
func TestSmoke(t *testing.T) {
	if os.Getenv("POSTVAULT_BENCH_SMOKE") != "1" && os.Getenv("POSTVAULT_EXHAUSTIVE") != "1" {
		t.Skip("about a minute: set POSTVAULT_BENCH_SMOKE=1 (or run `go run ./bench/mailload -short`)")
	}
	if m := dovecotMissing(); len(m) > 0 {
		t.Skipf("Dovecot not installed (%s): apt-get install %s", strings.Join(m, ", "), strings.Join(dovecotPackages, " "))
	}
	var progress strings.Builder
	rep, err := run(shortConfig(), &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	rows := append(append(append([]row{}, rep.deliver...), rep.imap...), rep.pop3...)
	if len(rows) != 4 {
		t.Fatalf("%d cells, want 4 (two delivery sizes, IMAP, POP3)", len(rows))
	}
	for _, r := range rows {
		for _, res := range []*result{r.pv, r.dc} {
			if res.ops == 0 || res.errs > 0 {
				t.Errorf("cell size %d clients %d: %d ops, %d errors (%s)", r.size, r.clients, res.ops, res.errs, res.errMsg)
			}
		}
	}
	var md strings.Builder
	rep.markdown(&md)
	t.Logf("%s\n%s", progress.String(), md.String())
}

// medianRow picks the repetition with the middle ratio, keeps every ratio
// in order, and counts the errors of all repetitions.
func TestMedianRow(t *testing.T) {
	rep := func(pv, dc float64, pvErrs int) row {
		return row{size: 1 << 20, clients: 16,
			pv: &result{ops: int(pv), wall: time.Second, errs: pvErrs},
			dc: &result{ops: int(dc), wall: time.Second}}
	}
	m := medianRow([]row{rep(300, 100, 0), rep(300, 200, 2), rep(300, 140, 0)})
	if m.pv.opsPerSec() != 300 || m.dc.opsPerSec() != 140 {
		t.Errorf("median repetition %v / %v, want 300 / 140", m.pv.opsPerSec(), m.dc.opsPerSec())
	}
	if len(m.ratios) != 3 || m.ratios[0] != 3 || m.ratios[1] != 1.5 {
		t.Errorf("ratios %v, want 3, 1.5, 2.14 in order", m.ratios)
	}
	if m.pv.errs != 2 {
		t.Errorf("errors %d, want the 2 of the second repetition", m.pv.errs)
	}
	// Even count: the lower middle one.
	if m := medianRow([]row{rep(300, 100, 0), rep(300, 200, 0)}); m.dc.opsPerSec() != 200 {
		t.Errorf("of two, the repetition with Dovecot at %v, want the lower ratio's (200)", m.dc.opsPerSec())
	}
}
