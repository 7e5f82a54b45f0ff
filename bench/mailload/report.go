package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// report is one run's figures.
type report struct {
	cfg                config
	date               time.Time
	cores              int
	loadStart, loadEnd string
	deliver, imap      []row
	pop3               []row
}

// row is one cell: the same load against postvault and Dovecot.
type row struct {
	size    int // deliveries only
	clients int
	pv, dc  *result
	ratios  []float64 // every repetition's ratio, in order (deliveries)
}

// medianRow is the repetition of a cell whose ratio is the median (the
// lower middle one of an even count), carrying every repetition's ratio
// and the errors of all of them.
// The servers take turns in each repetition, so each ratio is measured
// within moments; the median is what a noisy machine does not move much.
func medianRow(reps []row) row {
	idx := make([]int, len(reps))
	var ratios []float64
	for i, r := range reps {
		idx[i] = i
		ratios = append(ratios, r.ratio())
	}
	sort.Slice(idx, func(a, b int) bool { return ratios[idx[a]] < ratios[idx[b]] })
	m := reps[idx[(len(reps)-1)/2]]
	m.ratios = ratios
	// Errors of every repetition count, not the median one's alone.
	pv, dc := *m.pv, *m.dc
	pv.errs, dc.errs = 0, 0
	for _, r := range reps {
		pv.errs += r.pv.errs
		dc.errs += r.dc.errs
		if pv.errMsg == "" {
			pv.errMsg = r.pv.errMsg
		}
		if dc.errMsg == "" {
			dc.errMsg = r.dc.errMsg
		}
	}
	m.pv, m.dc = &pv, &dc
	return m
}

func (r row) ratio() float64 {
	if r.dc.opsPerSec() == 0 {
		return 0
	}
	return r.pv.opsPerSec() / r.dc.opsPerSec()
}

// ms formats a latency in milliseconds, with sense for small and large.
func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// errs is the errors cell: empty when neither server failed an op.
func errs(r row) string {
	if r.pv.errs == 0 && r.dc.errs == 0 {
		return "0"
	}
	s := fmt.Sprintf("%d / %d", r.pv.errs, r.dc.errs)
	if r.pv.errMsg != "" {
		s += " (pv: " + r.pv.errMsg + ")"
	}
	if r.dc.errMsg != "" {
		s += " (Dovecot: " + r.dc.errMsg + ")"
	}
	return s
}

// markdown writes the report as the tables of BENCHMARKS.md.
func (rep *report) markdown(w io.Writer) {
	fmt.Fprintf(w, "Run of %s UTC, %d cores, load average %s at the start and %s at the end; Dovecot mail_fsync = %s.\n\n",
		rep.date.Format("2006-01-02 15:04"), rep.cores, rep.loadStart, rep.loadEnd, rep.cfg.fsync)
	if len(rep.deliver) > 0 {
		fmt.Fprintf(w, "Durable deliveries over LMTP (%v per cell and server, at most %d MiB per cell; each cell %d times, the servers taking turns, the repetition with the median ratio shown):\n\n",
			rep.cfg.deliverTime, rep.cfg.deliverBytes>>20, max(1, rep.cfg.deliverReps))
		fmt.Fprintln(w, "| size | clients | postvault deliveries/s | Dovecot deliveries/s | ratio (median) | every repetition's ratio | p99 pv / Dovecot | goal >= 2x | errors pv / Dovecot |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, r := range rep.deliver {
			var all []string
			for _, x := range r.ratios {
				all = append(all, fmt.Sprintf("%.2f", x))
			}
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.2f | %s | %s / %s | %s | %s |\n", sizeName(r.size), r.clients,
				r.pv.opsPerSec(), r.dc.opsPerSec(), r.ratio(), strings.Join(all, " / "), ms(r.pv.p(0.99)), ms(r.dc.p(0.99)), yes(r.ratio() >= 2), errs(r))
		}
		fmt.Fprintln(w)
	}
	mix := func(title string, rows []row, kinds ...string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%v per cell and server):\n\n", title, rep.cfg.mixTime)
		fmt.Fprint(w, "| clients | postvault ops/s | Dovecot ops/s | ratio | p99 pv / Dovecot | p50 pv / Dovecot |")
		for _, k := range kinds {
			fmt.Fprintf(w, " %s p99 pv / Dovecot |", k)
		}
		fmt.Fprintln(w, " goal >= 1.5x, p99 no worse | errors pv / Dovecot |")
		fmt.Fprint(w, "| --- | --- | --- | --- | --- | --- |")
		for range kinds {
			fmt.Fprint(w, " --- |")
		}
		fmt.Fprintln(w, " --- | --- |")
		for _, r := range rows {
			fmt.Fprintf(w, "| %d | %.1f | %.1f | %.2f | %s / %s | %s / %s |", r.clients, r.pv.opsPerSec(), r.dc.opsPerSec(), r.ratio(),
				ms(r.pv.p(0.99)), ms(r.dc.p(0.99)), ms(r.pv.p(0.5)), ms(r.dc.p(0.5)))
			for _, k := range kinds {
				fmt.Fprintf(w, " %s / %s |", ms(r.pv.pKind(k, 0.99)), ms(r.dc.pKind(k, 0.99)))
			}
			fmt.Fprintf(w, " %s | %s |\n", yes(r.ratio() >= 1.5 && r.pv.p(0.99) <= r.dc.p(0.99)), errs(r))
		}
		fmt.Fprintln(w)
	}
	mix("IMAP mix", rep.imap, "login", "append", "expunge")
	mix("POP3/LMTP mix", rep.pop3, "login", "lmtp", "quit")
}
