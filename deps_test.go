// Package postvault_test holds the layering of the project as data: which of
// our packages may import which. Data flows down, imports point down only
// (see DESIGN.md). A stray import fails TestLayering.
package postvault_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/postvault/postvault"

// allowed maps a package tree (relative to the module) to the other trees it
// may import. A tree may always import its own subpackages and its own test
// helpers (xxxtest packages below it). Trees not listed here may import
// nothing of ours.
var allowed = map[string][]string{
	"hal":          {},
	"drivers/sata": {"qemu"}, // tests only: in-QEMU tests of SG_IO, uevents, O_DIRECT
	"drivers/raid": {},
	"mail/store":   {},
	"mail/limits":  {},
	"mail/certs":   {},
	"mail/imap":    {"mail/store", "mail/limits", "mail/certs"},
	"mail/pop3":    {"mail/store", "mail/limits", "mail/certs"},
	"mail/smtp":    {"mail/store", "mail/limits", "mail/certs"},
	"webui":        {"mail", "drivers", "hal"},
	"gokrazy":      {},
	"qemu":         {"gokrazy"},
	"firmware":     {"hal", "drivers", "mail", "webui", "gokrazy", "qemu", "bench/dovecot"}, // bench/dovecot: tests only (recover's export served by Dovecot)
	"bench":        {"hal", "drivers", "mail", "webui"},
}

// tree returns the listed tree that rel belongs to.
func tree(rel string) (string, bool) {
	best := ""
	for t := range allowed {
		if (rel == t || strings.HasPrefix(rel, t+"/")) && len(t) > len(best) {
			best = t
		}
	}
	return best, best != ""
}

func within(rel, prefix string) bool {
	return rel == prefix || strings.HasPrefix(rel, prefix+"/")
}

func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-test", "-json=ImportPath,Imports", "./...")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bufio.NewReader(&out))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		path := strings.Fields(p.ImportPath)[0] // "pkg [pkg.test]" for test variants
		if path == module || !strings.HasPrefix(path, module+"/") || strings.HasSuffix(path, ".test") {
			continue
		}
		rel := strings.TrimPrefix(path, module+"/")
		rel = strings.TrimSuffix(rel, "_test")
		own, listed := tree(rel)
		for _, imp := range p.Imports {
			imp = strings.Fields(imp)[0]
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			irel := strings.TrimPrefix(imp, module+"/")
			if listed && within(irel, own) {
				continue
			}
			ok := false
			if listed {
				for _, a := range allowed[own] {
					if within(irel, a) {
						ok = true
					}
				}
			}
			if !ok {
				t.Errorf("%s imports %s: not allowed by the layering in deps_test.go", rel, irel)
			}
		}
	}
}
