package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/postvault/postvault/mail/certs"
)

// The box's settings live in the mail store (see firmware/appliance's
// Config for what serve reads: serve.imap, serve.imap-conns, ...;
// admin.account; tls.cert and tls.key). These `postvault store` verbs read
// and change them with serve stopped:
//
//	postvault store settings PATH...            every key and its value (keys shown by size)
//	postvault store get KEY PATH... > value
//	postvault store set KEY PATH... < value     empty input deletes the setting
//	postvault store tls PATH... < cert-and-key.pem

// settingsUsage is the part of `postvault store`'s usage for these verbs.
const settingsUsage = "settings PATH...  |  get KEY PATH...  |  set KEY PATH... < value  |  tls PATH... < cert-and-key.pem"

// maxSettingInput bounds what set and tls read from standard input (the
// store keeps values of at most 1 MiB).
const maxSettingInput = 1 << 20

// settingsVerb runs one of the settings verbs; ok is false for another verb.
func settingsVerb(io stdio, pos []string) (ok bool, err error) {
	switch pos[0] {
	case "settings":
		return true, listSettings(io, pos[1:])
	case "get", "set":
		if len(pos) < 3 {
			return true, errUsage
		}
		if strings.Contains(pos[1], "/") {
			// Keys are dotted names (serve.imap); a path here means KEY is missing.
			return true, fmt.Errorf("%q is not a setting key: give the KEY (such as serve.imap) before the member paths", pos[1])
		}
		if pos[0] == "get" {
			return true, getSetting(io, pos[1], pos[2:])
		}
		return true, setSetting(io, pos[1], pos[2:])
	case "tls":
		return true, setTLS(io, pos[1:])
	}
	return false, nil
}

func listSettings(io stdio, paths []string) error {
	s, err := openStore(io, paths, true, false)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, k := range s.SettingKeys("") {
		v, _ := s.Setting(k)
		fmt.Fprintf(io.out, "%s\t%s\n", k, showSetting(k, v))
	}
	return nil
}

// showSetting is a value as listed: short printable values as they are,
// keys, certificates and anything long or binary by size.
func showSetting(key string, v []byte) string {
	switch {
	case key == "tls.key":
		return fmt.Sprintf("(private key, %d bytes)", len(v))
	case key == "tls.cert":
		return fmt.Sprintf("(certificate, %d bytes; `postvault store get tls.cert` prints it)", len(v))
	case len(v) > 200 || !utf8.Valid(v) || bytes.ContainsAny(v, "\n\r\t\x00"):
		return fmt.Sprintf("(%d bytes)", len(v))
	}
	return string(v)
}

func getSetting(io stdio, key string, paths []string) error {
	s, err := openStore(io, paths, true, false)
	if err != nil {
		return err
	}
	defer s.Close()
	v, ok := s.Setting(key)
	if !ok {
		return fmt.Errorf("no setting %q (`postvault store settings` lists them)", key)
	}
	_, err = io.out.Write(v)
	return err
}

func setSetting(io stdio, key string, paths []string) error {
	if strings.HasPrefix(key, "tls.") {
		return errors.New("the certificate and its key change together: use `postvault store tls PATH... < cert-and-key.pem`")
	}
	v, err := readSettingInput(io.in)
	if err != nil {
		return err
	}
	v = bytes.TrimSuffix(bytes.TrimSuffix(v, []byte("\n")), []byte("\r"))
	if strings.HasPrefix(key, "serve.") && strings.HasSuffix(key, "-conns") && len(v) > 0 {
		if n, err := strconv.Atoi(string(v)); err != nil || n == 0 {
			return fmt.Errorf("%s takes a connection count (a number, -1 for no limit), not %q", key, v)
		}
	}
	if len(v) == 0 {
		v = nil // deletes: serve falls back to its default
	}
	s, err := openStore(io, paths, false, false)
	if err != nil {
		return err
	}
	err = s.SetSetting(context.Background(), key, v)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// setTLS replaces the certificate serve uses for IMAPS, POP3S, STARTTLS and
// HTTPS with a PEM certificate chain and its private key read together from
// standard input; the pair is checked (it parses, the key matches) before it
// is kept.
func setTLS(io stdio, paths []string) error {
	in, err := readSettingInput(io.in)
	if err != nil {
		return err
	}
	certPEM, keyPEM := splitPEM(in)
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return errors.New("standard input needs a PEM certificate (chain) and its PEM private key, e.g. `cat fullchain.pem privkey.pem |`")
	}
	if _, err := certs.NewHolder(certPEM, keyPEM); err != nil {
		return fmt.Errorf("not kept: %w", err)
	}
	s, err := openStore(io, paths, false, false)
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = s.SetSetting(ctx, "tls.cert", certPEM)
	if err == nil {
		err = s.SetSetting(ctx, "tls.key", keyPEM)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// splitPEM sorts the PEM blocks of in into certificates and private keys.
func splitPEM(in []byte) (certPEM, keyPEM []byte) {
	for {
		var b *pem.Block
		b, in = pem.Decode(in)
		if b == nil {
			return certPEM, keyPEM
		}
		switch {
		case b.Type == "CERTIFICATE":
			certPEM = append(certPEM, pem.EncodeToMemory(b)...)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			keyPEM = append(keyPEM, pem.EncodeToMemory(b)...)
		}
	}
}

// readSettingInput reads standard input up to the store's value limit.
func readSettingInput(r io.Reader) ([]byte, error) {
	v, err := io.ReadAll(io.LimitReader(r, maxSettingInput+1))
	if err != nil {
		return nil, err
	}
	if len(v) > maxSettingInput {
		return nil, fmt.Errorf("standard input holds more than the %d bytes a setting may have", maxSettingInput)
	}
	return v, nil
}
