// Package certs makes and holds the appliance's TLS certificate.
//
// At first start the firmware calls SelfSigned and keeps the PEM pair in
// the store; later it builds a Holder from what the store has. Every TLS
// listener (IMAPS, POP3S, STARTTLS/STLS, HTTPS) takes Holder.TLSConfig(),
// whose GetCertificate reads the current pair, so an admin who uploads a
// replacement calls Holder.Set and new handshakes use it without a restart.
//
// SelfSigned makes an ECDSA P-256 key and a certificate that is its own
// issuer, valid from an hour before now for Validity, for the given DNS names
// and IP addresses, usable for server authentication.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// Validity is how long a self-signed certificate is valid.
const Validity = 10 * 365 * 24 * time.Hour

// SelfSigned returns a new key and self-signed certificate, both PEM-encoded,
// for hosts (DNS names or IP addresses; at least one), valid from now.
func SelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("certs: no host name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"postvault"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// Holder holds the current certificate for every TLS listener.
type Holder struct {
	mu   sync.RWMutex
	cert *tls.Certificate // guarded by mu
}

// NewHolder returns a Holder with the given PEM pair; it fails if the pair
// does not parse or the key does not match the certificate.
func NewHolder(certPEM, keyPEM []byte) (*Holder, error) {
	h := &Holder{}
	if err := h.Set(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return h, nil
}

// Set replaces the certificate; on error the old one stays.
func (h *Holder) Set(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
	}
	h.mu.Lock()
	h.cert = &c
	h.mu.Unlock()
	return nil
}

// Certificate returns the current certificate.
func (h *Holder) Certificate() *tls.Certificate {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cert
}

// TLSConfig returns a server configuration (TLS 1.2 or later) that serves
// the Holder's current certificate.
func (h *Holder) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return h.Certificate(), nil
		},
	}
}
