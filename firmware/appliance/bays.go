package appliance

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/postvault/postvault/firmware/diskmgr"
	"github.com/postvault/postvault/hal"
)

// DisksReport is the disk manager's part of the status: the board, every
// bay with its member and LEDs, and the disk event log.
type DisksReport struct {
	Board     string          `json:"board"`
	Model     string          `json:"model,omitempty"`
	StatusLED string          `json:"status_led"` // off, ok, busy or attention
	Bays      []diskmgr.Bay   `json:"bays"`
	Events    []diskmgr.Event `json:"events"` // oldest first
}

// pageEvents is how many of the newest events the page shows.
const pageEvents = 30

// disksReport returns the disk part of the status; nil without a board.
func (ap *Appliance) disksReport() *DisksReport {
	if ap.disks == nil {
		return nil
	}
	b := ap.disks.Board()
	return &DisksReport{Board: b.Name(), Model: b.Model(), StatusLED: ap.disks.Status().String(),
		Bays: ap.disks.Bays(), Events: ap.disks.Events()}
}

// handleLocate is POST /api/bay/{n}/locate: "on" or "off" as the form
// field state, or as the whole body. It answers the bay as JSON, or sends
// a browser back to the page when the form carries back=1.
func (ap *Appliance) handleLocate(w http.ResponseWriter, r *http.Request) {
	if ap.disks == nil {
		http.Error(w, "no board: bays unknown", http.StatusNotFound)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		http.Error(w, "bay must be a number", http.StatusBadRequest)
		return
	}
	on, err := locateValue(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := ap.disks.SetLocate(n, on); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if r.Form.Get("back") != "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	i := slices.IndexFunc(ap.disks.Bays(), func(b diskmgr.Bay) bool { return b.Number == n })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ap.disks.Bays()[i])
}

type badLocate string

func (e badLocate) Error() string { return string(e) }

// locateValue reads on/off from the form field state, a bare form key
// ("on" posted by curl -d on), or a text body.
func locateValue(r *http.Request) (bool, error) {
	var v string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.URL.RawQuery != "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<10)
		if err := r.ParseForm(); err != nil {
			return false, badLocate("bad form: " + err.Error())
		}
		v = r.Form.Get("state")
		if v == "" && len(r.PostForm) == 1 {
			for k := range r.PostForm {
				v = k
			}
		}
	} else {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64))
		if err != nil {
			return false, badLocate("reading the body: " + err.Error())
		}
		v = string(b)
		r.Form = nil
	}
	if r.Form == nil {
		r.Form = map[string][]string{}
	}
	switch strings.TrimSpace(strings.ToLower(v)) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, badLocate(`locate wants "on" or "off"`)
}

// The page's bay table and event log, included by statusPage.
var _ = template.Must(statusPage.New("disks").Funcs(template.FuncMap{
	"led": func(l *hal.LEDState) string {
		switch {
		case l == nil:
			return "-"
		case !l.Known:
			return "?"
		case bool(l.Level):
			return "on"
		}
		return "off"
	},
	"recent": func(es []diskmgr.Event) []diskmgr.Event {
		if len(es) > pageEvents {
			es = es[len(es)-pageEvents:]
		}
		out := slices.Clone(es)
		slices.Reverse(out)
		return out
	},
}).Parse(`{{with .Disks}}
<style>.p-fail,.p-failed_array{color:#b00;font-weight:bold}.p-pfa,.p-degraded{color:#a60}.p-rebuild,.p-hotspare{color:#06a}</style>
<h2>Bays</h2><p>Board {{.Board}}{{with .Model}} ({{.}}){{end}}; status LED <b id="status-led">{{.StatusLED}}</b></p>
{{if not $.Admin}}<p id="admin-note">Locating a bay needs the admin password, sent only over TLS{{with $.SecureURL}}: <a href="{{.}}">{{.}}</a>{{end}}.</p>{{end}}
<table id="bays"><tr><th>bay</th><th>port</th><th>device</th><th>member</th><th>pattern</th><th>fault LED</th><th>locate LED</th><th></th></tr>
{{range .Bays}}<tr id="bay{{.Number}}"><td>{{.Number}}</td><td>{{.Port}}</td><td>{{.Device}}</td>
<td class="{{.State}}">{{if .State}}{{.State}}{{if ge .Role 0}} (role {{.Role}}){{end}}{{else}}empty{{end}}{{if .Pulled}}, pulled{{end}}{{if .Slow}}, SLOW{{end}}{{with .Health}}, SMART {{.}}{{end}}</td>
<td class="p-{{.Pattern}}">{{.Pattern}}{{if .Locate}} (locate on){{end}}</td><td>{{led .Fault}}</td><td>{{led .LocateLED}}</td>
<td>{{if $.Admin}}<form method="post" action="/api/bay/{{.Number}}/locate"><input type="hidden" name="back" value="1"><input type="hidden" name="state" value="{{if .Locate}}off{{else}}on{{end}}"><button>{{if .Locate}}stop locating{{else}}locate{{end}}</button></form>{{end}}</td></tr>
{{end}}</table>
<h2>Disk events</h2><table id="events"><tr><th>time</th><th>bay</th><th>device</th><th>event</th></tr>
{{range recent .Events}}<tr><td>{{.Time.Format "2006-01-02 15:04:05"}}</td><td>{{if .Bay}}{{.Bay}}{{end}}</td><td>{{.Device}}</td><td>{{.What}}</td></tr>
{{end}}</table>
{{end}}`))
