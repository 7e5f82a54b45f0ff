package appliance

// Accounts over HTTP: what `postvault user` and `postvault alias` do on
// the member disks, for a running box (which has no shell, and whose
// members serve holds). Every request needs the admin account, over TLS or
// from loopback (requireAdmin and authorize, auth.go), reads included: the
// list of accounts is not for everyone who reaches the status page.
// Passwords travel in the request body, never in the URL.
//
//	GET    /api/accounts                       the accounts (JSON)
//	POST   /api/accounts/{name}                add; body: the password
//	POST   /api/accounts/{name}/password       change it; body: the password
//	POST   /api/accounts/{name}/quota          body: a size (2G, 500M) or none
//	POST   /api/accounts/{name}/disable        refuse logins and mail, keep mail
//	POST   /api/accounts/{name}/enable
//	DELETE /api/accounts/{name}?delete-mail=yes   the account and all its mail
//	GET    /api/aliases                        the aliases (JSON)
//	GET    /api/store/problems                 damage the store found (JSON)
//	POST   /api/aliases/{address}              body: the account it delivers to
//	DELETE /api/aliases/{address}

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/postvault/postvault/mail/store"
)

// ParseSize reads a size as the admin commands and the API take it:
// 65536, 64K, 64k, 64KiB, 512K, 1M, 1MiB, 1G, 2T.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (use bytes or a K, M, G or T suffix, e.g. 64K)", s)
	}
	return n * mult, nil
}

// ParseQuota reads a quota: a size as ParseSize reads it, or 0 or "none"
// for no limit.
func ParseQuota(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "0" || strings.EqualFold(v, "none") {
		return 0, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("quota: %w, or 0 or none for no limit", err)
	}
	return n, nil
}

// accountJSON is one account in GET /api/accounts.
type accountJSON struct {
	Name     string `json:"name"`
	Messages int    `json:"messages"`
	Bytes    int64  `json:"bytes"`
	Quota    int64  `json:"quota"` // 0: no limit
	Disabled bool   `json:"disabled"`
}

// problemJSON is one piece of damage in GET /api/store/problems (admin
// only: it names accounts, mailboxes and UIDs; the open status page shows
// the count).
type problemJSON struct {
	Offset  int64  `json:"offset"`
	Seq     uint64 `json:"seq,omitempty"`
	Account string `json:"account,omitempty"`
	Mailbox string `json:"mailbox,omitempty"`
	UID     uint32 `json:"uid,omitempty"`
	Detail  string `json:"detail"`
}

func accountOf(u store.User) accountJSON {
	return accountJSON{u.Name, u.Messages, u.Usage, u.Quota, u.Disabled}
}

// aliasJSON is one alias in GET /api/aliases.
type aliasJSON struct {
	Address string `json:"address"` // "@example.org" is a catch-all
	Account string `json:"account"`
}

// accountRoutes routes /api/accounts and /api/aliases (see the file
// comment).
func (ap *Appliance) accountRoutes(mux *http.ServeMux) {
	admin := func(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			// requireAdmin has checked every method but GET and HEAD.
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !ap.authorize(w, r) {
				return
			}
			if err := h(w, r); err != nil {
				ap.answerStoreError(w, r, err)
			}
		}
	}
	mux.HandleFunc("GET /api/accounts", admin(func(w http.ResponseWriter, r *http.Request) error {
		out := []accountJSON{}
		for _, u := range ap.store.Users() {
			out = append(out, accountOf(u))
		}
		return writeJSON(w, out)
	}))
	mux.HandleFunc("POST /api/accounts/{name}", admin(func(w http.ResponseWriter, r *http.Request) error {
		pw, err := readPasswordBody(r)
		if err != nil {
			return err
		}
		if err := ap.store.AddUser(r.Context(), r.PathValue("name"), pw); err != nil {
			return err
		}
		return ap.answerAccount(w, r, http.StatusCreated)
	}))
	mux.HandleFunc("POST /api/accounts/{name}/password", admin(func(w http.ResponseWriter, r *http.Request) error {
		pw, err := readPasswordBody(r)
		if err != nil {
			return err
		}
		if err := ap.store.SetPassword(r.Context(), r.PathValue("name"), pw); err != nil {
			return err
		}
		return ap.answerAccount(w, r, http.StatusOK)
	}))
	mux.HandleFunc("POST /api/accounts/{name}/quota", admin(func(w http.ResponseWriter, r *http.Request) error {
		b, err := readBody(r)
		if err != nil {
			return err
		}
		q, err := ParseQuota(b)
		if err != nil {
			return badRequest(err.Error())
		}
		if err := ap.store.SetQuota(r.Context(), r.PathValue("name"), q); err != nil {
			return err
		}
		return ap.answerAccount(w, r, http.StatusOK)
	}))
	for _, verb := range []string{"disable", "enable"} {
		mux.HandleFunc("POST /api/accounts/{name}/"+verb, admin(func(w http.ResponseWriter, r *http.Request) error {
			name := r.PathValue("name")
			if verb == "disable" && ap.isAdmin(name) {
				return conflict("the admin account cannot be disabled (it is the one that can enable accounts)")
			}
			if err := ap.store.SetDisabled(r.Context(), name, verb == "disable"); err != nil {
				return err
			}
			return ap.answerAccount(w, r, http.StatusOK)
		}))
	}
	mux.HandleFunc("DELETE /api/accounts/{name}", admin(func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		if r.URL.Query().Get("delete-mail") != "yes" {
			return badRequest("deleting an account deletes all its mail: add ?delete-mail=yes to say so")
		}
		if ap.isAdmin(name) {
			return conflict("the admin account cannot be deleted")
		}
		if err := ap.store.DelUser(r.Context(), name); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	mux.HandleFunc("GET /api/store/problems", admin(func(w http.ResponseWriter, r *http.Request) error {
		out := []problemJSON{}
		for _, p := range ap.store.Problems() {
			out = append(out, problemJSON{p.Offset, p.Seq, p.Account, p.Mailbox, p.UID, p.Detail})
		}
		return writeJSON(w, out)
	}))
	mux.HandleFunc("GET /api/aliases", admin(func(w http.ResponseWriter, r *http.Request) error {
		out := []aliasJSON{}
		for _, a := range ap.store.Aliases() {
			out = append(out, aliasJSON{a.Address, a.Account})
		}
		return writeJSON(w, out)
	}))
	mux.HandleFunc("POST /api/aliases/{address}", admin(func(w http.ResponseWriter, r *http.Request) error {
		account, err := readBody(r)
		if err != nil {
			return err
		}
		if err := ap.store.AddAlias(r.Context(), r.PathValue("address"), strings.TrimSpace(account)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	}))
	mux.HandleFunc("DELETE /api/aliases/{address}", admin(func(w http.ResponseWriter, r *http.Request) error {
		if err := ap.store.DelAlias(r.Context(), r.PathValue("address")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
}

func (ap *Appliance) isAdmin(name string) bool {
	return strings.EqualFold(strings.TrimSpace(name), ap.adminName())
}

// answerAccount answers the account named in the path, as JSON.
func (ap *Appliance) answerAccount(w http.ResponseWriter, r *http.Request, code int) error {
	u, err := ap.store.User(r.PathValue("name"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(accountOf(u))
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// httpError is an answer other than 500 that a handler chose.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }
func conflict(msg string) error   { return &httpError{http.StatusConflict, msg} }

// maxBody bounds a request body: a password, a size, an address.
const maxBody = 4 << 10

// readBody reads a small request body.
func readBody(r *http.Request) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", badRequest("reading the body: " + err.Error())
	}
	if len(b) > maxBody {
		return "", &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody)}
	}
	return string(b), nil
}

// readPasswordBody reads a password: the body's first line (as `postvault
// user add` reads standard input), not empty.
func readPasswordBody(r *http.Request) (string, error) {
	b, err := readBody(r)
	if err != nil {
		return "", err
	}
	pw, _, _ := strings.Cut(b, "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", badRequest("the password goes in the request body (e.g. curl --data-binary @file)")
	}
	return pw, nil
}

// answerStoreError maps what a handler returned to a status code.
func (ap *Appliance) answerStoreError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	code := http.StatusServiceUnavailable
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.Is(err, store.ErrNoSuchUser), errors.Is(err, store.ErrNoSuchAlias):
		code = http.StatusNotFound
	case errors.Is(err, store.ErrUserExists), errors.Is(err, store.ErrAliasExists):
		code = http.StatusConflict
	case errors.Is(err, store.ErrBadName):
		code = http.StatusBadRequest
	default:
		ap.log.Error("http: account change failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	http.Error(w, err.Error(), code)
}
