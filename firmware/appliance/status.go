package appliance

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/mail/store"
)

// StatusReport is what the status page and /api/status show.
type StatusReport struct {
	Time     time.Time            `json:"time"`
	Array    raid.Status          `json:"array"`
	Job      *raid.Progress       `json:"job,omitempty"`
	Latency  []raid.MemberLatency `json:"latency"`
	Store    store.Stats          `json:"store"`
	Services Listen               `json:"services"`
	Disks    *DisksReport         `json:"disks,omitempty"` // nil without a board
}

// Report gathers the current status.
func (ap *Appliance) Report() StatusReport {
	r := StatusReport{
		Time:     time.Now(),
		Array:    ap.array.Status(),
		Latency:  ap.array.Latency(),
		Store:    ap.store.Stats(),
		Services: ap.addrs,
		Disks:    ap.disksReport(),
	}
	if p, ok := ap.array.RebuildProgress(); ok {
		r.Job = &p
	} else if p, ok := ap.array.ScrubProgress(); ok {
		r.Job = &p
	}
	return r
}

// serveHTTP starts the status page on the HTTP and HTTPS listeners of want
// (either may be off); one http.Server serves both.
func (ap *Appliance) serveHTTP(want Listen, tlsConf *tls.Config) error {
	if want.HTTP == "" && want.HTTPS == "" {
		return nil
	}
	var ls []net.Listener
	for _, s := range []struct {
		addr string
		dst  *string
		tls  bool
	}{{want.HTTP, &ap.addrs.HTTP, false}, {want.HTTPS, &ap.addrs.HTTPS, true}} {
		if s.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("appliance: listening on %s: %w", s.addr, err)
		}
		*s.dst = l.Addr().String()
		if s.tls {
			l = tls.NewListener(l, tlsConf)
		}
		ls = append(ls, l)
	}
	// WriteTimeout runs from the request's headers to the end of the
	// answer, the password check included, which takes long when many
	// logins of every protocol hash at once: generous, so that a slow
	// check still gets its answer rather than a closed connection.
	ap.httpSrv = &http.Server{Handler: ap.statusHandler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	for _, l := range ls {
		ap.wg.Add(1)
		go func() {
			defer ap.wg.Done()
			if err := ap.httpSrv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				ap.log.Error("http server stopped", "addr", l.Addr().String(), "err", err)
			}
		}()
	}
	return nil
}

// pageData is what the status page template sees: the report, and whether
// this request may use the admin actions.
type pageData struct {
	StatusReport
	// Admin is true where a password may be sent (TLS, loopback or
	// --allow-insecure-auth): the page offers the locate buttons.
	Admin bool
	// SecureURL is the page over HTTPS, offered where Admin is false.
	SecureURL string
}

// statusHandler serves the page and the API; requireAdmin guards every
// request that is not GET or HEAD.
func (ap *Appliance) statusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(ap.Report())
	})
	mux.HandleFunc("POST /api/bay/{n}/locate", ap.handleLocate)
	ap.accountRoutes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		d := pageData{StatusReport: ap.Report(), Admin: ap.canSendPassword(r)}
		if !d.Admin {
			d.SecureURL = ap.secureURL(r)
		}
		if err := statusPage.Execute(w, d); err != nil {
			ap.log.Error("status page", "err", err)
		}
	})
	return ap.requireAdmin(mux)
}

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		}
		return fmt.Sprintf("%d KiB", n>>10)
	},
	"pct": func(a, b int64) string {
		if b == 0 {
			return "100%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>postvault: array {{.Array.State}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.clean{color:#070}.degraded,.rebuilding{color:#a60}.failed{color:#b00}</style></head><body>
<h1>postvault</h1>
<p>Array: RAID-{{.Array.Level}}, {{.Array.Disks}} disks, {{bytes .Array.Size}}, state <b id="state" class="{{.Array.State}}">{{.Array.State}}</b>{{if .Array.Dirty}} (dirty){{end}}, UUID {{.Array.UUID}}, events {{.Array.Events}}, in use {{bytes .Array.UsedBytes}}</p>
{{with .Job}}<p id="job">{{.Job}}: {{pct .Done .Total}} done{{if .Running}}, {{printf "%.1f" .Rate}} B/s, ETA {{.ETA}}{{end}}{{if .Err}}, stopped: {{.Err}}{{end}}</p>{{end}}
<table><tr><th>role</th><th>device</th><th>state</th><th>events</th></tr>
{{range .Array.Members}}<tr><td>{{.Role}}</td><td>{{.Device}}</td><td class="{{.State}}">{{.State}}</td><td>{{.Events}}</td></tr>
{{end}}</table>
<h2>Latency</h2><table><tr><th>device</th><th>p50</th><th>p99</th><th>errors</th><th>slow</th></tr>
{{range .Latency}}<tr><td>{{.Device}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.Errors}}</td><td>{{if .Slow}}SLOW{{end}}</td></tr>
{{end}}</table>
{{template "disks" .}}
<h2>Mail</h2><p>{{.Store.Accounts}} accounts, {{.Store.Messages}} messages, {{bytes .Store.LiveBytes}} live of {{bytes .Store.VolumeBytes}}</p>
{{if .Store.Problems}}<p id="damage" class="failed">The mail store found damage it could not repair from parity: {{.Store.Problems}} problem(s). Which mail: <a href="/api/store/problems">/api/store/problems</a> (admin account). Run a scrub; replace a disk that reports errors.</p>{{end}}
<p><a href="/api/status">JSON</a></p>
</body></html>
`))
